#include "systemd/unit_manager.h"

#include "metrics/agent_metrics.h"
#include "util/private_file.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace systemk::systemd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr const char *kService = "org.freedesktop.systemd1";
constexpr const char *kManagerPath = "/org/freedesktop/systemd1";
constexpr const char *kManager = "org.freedesktop.systemd1.Manager";
constexpr const char *kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char *kServiceIface = "org.freedesktop.systemd1.Service";
constexpr const char *kUnitPrefixPath = "/org/freedesktop/systemd1/unit";
constexpr uint64_t kCallTimeoutUsec = 15'000'000;
constexpr uint64_t kConnectTimeoutUsec = 2'000'000;
constexpr auto kMaxReconnectBackoff = 8000ms;

std::atomic<bool> g_usable{false};

struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    std::string text(int r) const { return e.message ? e.message : std::strerror(-r); }
};

std::shared_ptr<sd_bus_message> hold(sd_bus_message *m) {
    return std::shared_ptr<sd_bus_message>(sd_bus_message_ref(m), [](sd_bus_message *p) { sd_bus_message_unref(p); });
}

// A method call in flight: sd-bus calls on_reply exactly once (reply, error, timeout, or the
// connection closing), and the waiting coroutine is resumed through the io_context.
struct PendingCall {
    virtual ~PendingCall() = default;
    virtual void complete(UnitManager::Reply reply) = 0;
    std::set<void *> *registry = nullptr;  // the manager's calls in flight
};

template <class Handler>
struct PendingCallOf final : PendingCall {
    PendingCallOf(Handler h, asio::any_io_executor ex) : handler(std::move(h)), executor(std::move(ex)) {}
    void complete(UnitManager::Reply reply) override {
        auto ex = asio::get_associated_executor(handler, executor);
        asio::post(ex, [h = std::move(handler), r = std::move(reply)]() mutable { std::move(h)(std::move(r)); });
    }
    Handler handler;
    asio::any_io_executor executor;
};

int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *) {
    std::unique_ptr<PendingCall> op(static_cast<PendingCall *>(userdata));
    op->registry->erase(op.get());
    UnitManager::Reply reply;
    if (const sd_bus_error *e = sd_bus_message_get_error(m); e) {
        reply.outcome.ok = false;
        reply.outcome.error_name = e->name ? e->name : "";
        reply.outcome.message = e->message ? e->message : reply.outcome.error_name;
    } else {
        reply.message = hold(m);
    }
    op->complete(std::move(reply));
    return 0;
}

JobOutcome failure(const std::string &name, const std::string &message) {
    return JobOutcome{false, name, message};
}

// The properties of one interface from a GetAll reply, by name.
struct Properties {
    std::map<std::string, std::string> strings;
    std::map<std::string, uint64_t> numbers;  // integers and booleans
    std::string str(const char *k) const { auto it = strings.find(k); return it == strings.end() ? "" : it->second; }
    uint64_t num(const char *k) const { auto it = numbers.find(k); return it == numbers.end() ? 0 : it->second; }
};

void read_variant(sd_bus_message *reply, const char *name, const char *contents, Properties &out) {
    const std::string sig(contents);
    if (sig.size() == 1) {
        union {
            int32_t i; uint32_t u; uint64_t t; int b;
        } v{};
        const char *str = nullptr;
        switch (sig[0]) {
            case 's': case 'o': if (sd_bus_message_read_basic(reply, sig[0], &str) > 0 && str) out.strings[name] = str; return;
            case 'i': if (sd_bus_message_read_basic(reply, 'i', &v.i) > 0) out.numbers[name] = static_cast<uint32_t>(v.i); return;
            case 'u': if (sd_bus_message_read_basic(reply, 'u', &v.u) > 0) out.numbers[name] = v.u; return;
            case 't': if (sd_bus_message_read_basic(reply, 't', &v.t) > 0) out.numbers[name] = v.t; return;
            case 'b': if (sd_bus_message_read_basic(reply, 'b', &v.b) > 0) out.numbers[name] = v.b ? 1 : 0; return;
            default: break;
        }
    } else if (sig == "(uo)") {  // Job: (id, path); id 0 when no job
        uint32_t id = 0;
        const char *path = nullptr;
        if (sd_bus_message_read(reply, "(uo)", &id, &path) > 0) out.numbers[name] = id;
        return;
    } else if (sig == "(ss)") {  // LoadError: (D-Bus error name, message)
        const char *ename = nullptr, *message = nullptr;
        if (sd_bus_message_read(reply, "(ss)", &ename, &message) > 0 && message) out.strings[name] = message;
        return;
    } else if (sig == "ay") {  // InvocationID: 16 bytes, empty before the first start
        const void *data = nullptr;
        size_t size = 0;
        if (sd_bus_message_read_array(reply, 'y', &data, &size) >= 0) {
            static const char *hex = "0123456789abcdef";
            std::string s;
            for (size_t i = 0; i < size; ++i) {
                const auto b = static_cast<const unsigned char *>(data)[i];
                s += hex[b >> 4];
                s += hex[b & 15];
            }
            if (s.find_first_not_of('0') != std::string::npos) out.strings[name] = s;
        }
        return;
    }
    sd_bus_message_skip(reply, contents);
}

bool parse_properties(sd_bus_message *reply, Properties &out) {
    if (sd_bus_message_enter_container(reply, 'a', "{sv}") <= 0) return false;
    while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
        const char *name = nullptr;
        const char *contents = nullptr;
        char type = 0;
        if (sd_bus_message_read(reply, "s", &name) < 0 || sd_bus_message_peek_type(reply, &type, &contents) < 0 || !name ||
            !contents)
            return false;
        if (sd_bus_message_enter_container(reply, 'v', contents) <= 0) return false;
        read_variant(reply, name, contents, out);
        sd_bus_message_exit_container(reply);
        sd_bus_message_exit_container(reply);
    }
    return true;
}

std::string unit_object_path(const std::string &name) {
    char *path = nullptr;
    if (sd_bus_path_encode(kUnitPrefixPath, name.c_str(), &path) < 0 || !path) return {};
    std::string out(path);
    free(path);
    return out;
}

}  // namespace

bool unit_connection_usable() { return g_usable.load(); }

UnitManager::UnitManager(asio::io_context &io, std::filesystem::path unit_dir)
    : io_(io), unit_dir_(std::move(unit_dir)), fd_(io), timeout_(io), reconnect_timer_(io) {
    std::filesystem::create_directories(unit_dir_);
    connect();
}

UnitManager::~UnitManager() {
    *alive_ = false;
    g_usable = false;
    boost::system::error_code ec;
    fd_.close(ec);
    if (bus_) sd_bus_flush_close_unref(bus_);
    for (auto *p : in_flight_) delete static_cast<PendingCall *>(p);
}

void UnitManager::connect() {
    sd_bus *bus = nullptr;
    // systemd's private socket (what systemctl uses as root): no broker in between, and a
    // restart of dbus does not concern us. Else the system bus.
    bool direct = false;
    if (geteuid() == 0 && access("/run/systemd/private", F_OK) == 0 && sd_bus_new(&bus) >= 0) {
        if (sd_bus_set_address(bus, "unix:path=/run/systemd/private") >= 0 && sd_bus_start(bus) >= 0) {
            direct = true;
        } else {
            sd_bus_unref(bus);
            bus = nullptr;
        }
    }
    if (!bus) {
        const int r = sd_bus_open_system(&bus);
        if (r < 0) throw SystemdError(std::string("cannot connect to the system bus: ") + std::strerror(-r));
    }
    // The only synchronous call: a short timeout, as systemd may be busy re-executing.
    sd_bus_set_method_call_timeout(bus, kConnectTimeoutUsec);
    BusError err;
    sd_bus_message *reply = nullptr;
    int r = sd_bus_call_method(bus, kService, kManagerPath, kManager, "Subscribe", &err.e, &reply, "");
    sd_bus_message_unref(reply);
    sd_bus_set_method_call_timeout(bus, kCallTimeoutUsec);
    if (r >= 0)
        r = sd_bus_match_signal(bus, nullptr, kService, nullptr, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                &UnitManager::on_properties_changed, this);
    if (r >= 0)
        r = sd_bus_match_signal(bus, nullptr, kService, kManagerPath, kManager, "JobRemoved", &UnitManager::on_job_removed,
                                this);
    if (r >= 0)
        r = sd_bus_match_signal(bus, nullptr, kService, kManagerPath, kManager, "Reloading", &UnitManager::on_reloading, this);
    if (r < 0) {
        sd_bus_flush_close_unref(bus);
        throw SystemdError("systemd Subscribe failed: " + err.text(r));
    }
    bus_ = bus;
    fd_.assign(::dup(sd_bus_get_fd(bus_)));
    connected_ = true;
    g_usable = true;
    reconnect_backoff_ = 250ms;
    spdlog::info("connected to systemd ({})", direct ? "private socket" : "system bus");
    rearm();
    // Signals that arrived during the synchronous Subscribe wait in sd-bus's queue.
    asio::post(io_, [this, alive = alive_] {
        if (*alive) process();
    });
}

void UnitManager::lost(const char *why) {
    if (!connected_) return;
    spdlog::error("lost the systemd connection ({}); reconnecting", why);
    connected_ = false;
    g_usable = false;
    boost::system::error_code ec;
    fd_.cancel(ec);
    fd_.close(ec);
    timeout_.cancel();
    reading_ = writing_ = timer_armed_ = false;
    // Fail every call still waiting: sd-bus answers them with errors while it closes.
    if (bus_) {
        sd_bus_close(bus_);
        while (sd_bus_process(bus_, nullptr) > 0) {
        }
        sd_bus_unref(bus_);
        bus_ = nullptr;
    }
    // Calls sd-bus dropped without an answer (it answers them only when it saw the EOF itself).
    for (auto *p : std::exchange(in_flight_, {})) {
        std::unique_ptr<PendingCall> op(static_cast<PendingCall *>(p));
        op->complete(Reply{nullptr, failure("systemk.Disconnected", "the systemd connection was lost")});
    }
    schedule_reconnect();
}

void UnitManager::schedule_reconnect() {
    reconnect_timer_.expires_after(reconnect_backoff_);
    reconnect_timer_.async_wait([this, alive = alive_](const boost::system::error_code &ec) {
        if (ec || !*alive) return;
        try {
            connect();
            if (resync_) resync_();
        } catch (const std::exception &e) {
            spdlog::warn("systemd still unreachable: {}", e.what());
            reconnect_backoff_ = std::min<std::chrono::milliseconds>(reconnect_backoff_ * 2, kMaxReconnectBackoff);
            schedule_reconnect();
        }
    });
}

void UnitManager::rearm() {
    if (!connected_ || !bus_) return;
    const int events = sd_bus_get_events(bus_);
    if (events < 0) return lost("sd_bus_get_events failed");
    if (!reading_) {
        reading_ = true;
        fd_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive = alive_](const boost::system::error_code &ec) {
            if (!*alive || ec == asio::error::operation_aborted) return;
            reading_ = false;
            if (ec) return lost(ec.message().c_str());
            process();
        });
    }
    if ((events & POLLOUT) && !writing_) {
        writing_ = true;
        fd_.async_wait(asio::posix::stream_descriptor::wait_write, [this, alive = alive_](const boost::system::error_code &ec) {
            if (!*alive || ec == asio::error::operation_aborted) return;
            writing_ = false;
            if (ec) return lost(ec.message().c_str());
            process();
        });
    }
    uint64_t until = 0;
    if (sd_bus_get_timeout(bus_, &until) >= 0 && until != UINT64_MAX) {
        // sd-bus reports CLOCK_MONOTONIC µs, which is steady_clock on Linux.
        const auto when = std::chrono::steady_clock::time_point(std::chrono::microseconds(until));
        if (!timer_armed_ || timeout_.expiry() != when) {
            timer_armed_ = true;
            timeout_.expires_at(when);
            timeout_.async_wait([this, alive = alive_](const boost::system::error_code &ec) {
                if (ec == asio::error::operation_aborted || !*alive) return;
                timer_armed_ = false;
                process();
            });
        }
    }
}

void UnitManager::process() {
    if (!bus_) return;
    for (int i = 0;; ++i) {
        const int r = sd_bus_process(bus_, nullptr);
        if (r < 0) return lost(std::strerror(-r));
        if (r == 0) break;
        if (!bus_) return;  // a callback lost the connection
        if (i > 1000) {  // let other work run; continue on the next turn of the loop
            asio::post(io_, [this, alive = alive_] {
                if (*alive) process();
            });
            return;
        }
    }
    rearm();
}

int UnitManager::on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *) {
    auto *self = static_cast<UnitManager *>(userdata);
    const char *path = sd_bus_message_get_path(m);
    if (!path || !self->change_) return 0;
    char *name = nullptr;
    if (sd_bus_path_decode(path, kUnitPrefixPath, &name) > 0 && name) {
        std::string unit(name);
        free(name);
        if (unit.rfind("systemk.", 0) == 0) self->change_(unit);
    }
    return 0;
}

int UnitManager::on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *) {
    auto *self = static_cast<UnitManager *>(userdata);
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0 || !unit || !self->change_) return 0;
    if (std::string(unit).rfind("systemk.", 0) == 0) self->change_(unit);
    return 0;
}

int UnitManager::on_reloading(sd_bus_message *m, void *userdata, sd_bus_error *) {
    auto *self = static_cast<UnitManager *>(userdata);
    int active = 0;
    if (sd_bus_message_read(m, "b", &active) < 0) return 0;
    // A reload or re-exec finished: states may have changed without a signal for each unit.
    if (!active && self->resync_) asio::post(self->io_, [self, alive = self->alive_] {
        if (*alive && self->resync_) self->resync_();
    });
    return 0;
}

asio::awaitable<UnitManager::Reply> UnitManager::call(const std::string &path, const char *iface, const char *method,
                                                      const std::function<int(sd_bus_message *)> &append) {
    auto timing = metrics::unit_operation(method);  // an early return counts as an error
    if (!connected_ || !bus_) co_return Reply{nullptr, failure("systemk.NotConnected", "not connected to systemd")};
    sd_bus_message *req = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &req, kService, path.c_str(), iface, method);
    if (r >= 0 && append) r = append(req);
    if (r < 0) {
        sd_bus_message_unref(req);
        co_return Reply{nullptr, failure("systemk.BadMessage", std::string("cannot build ") + method + ": " + std::strerror(-r))};
    }
    auto reply = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Reply)>(
        [this, req](auto handler) {
            using H = decltype(handler);
            auto *op = new PendingCallOf<H>(std::move(handler), io_.get_executor());
            op->registry = &in_flight_;
            const int rc = sd_bus_call_async(bus_, nullptr, req, &on_reply, op, kCallTimeoutUsec);
            sd_bus_message_unref(req);
            if (rc >= 0) in_flight_.insert(static_cast<PendingCall *>(op));
            if (rc < 0) {
                op->complete(Reply{nullptr, failure("systemk.SendFailed", std::strerror(-rc))});
                delete op;
            }
            rearm();
        },
        asio::use_awaitable);
    timing.finish(reply.outcome.ok);
    co_return reply;
}

asio::awaitable<UnitState> UnitManager::state(const std::string &name) {
    UnitState s;
    s.name = name;
    const auto path = unit_object_path(name);
    const std::function<int(sd_bus_message *)> unit_args = [](sd_bus_message *m) {
        return sd_bus_message_append(m, "s", kUnitIface);
    };
    const std::function<int(sd_bus_message *)> service_args = [](sd_bus_message *m) {
        return sd_bus_message_append(m, "s", kServiceIface);
    };
    // Reading a unit's properties by its object path loads it (and retries a not-found unit
    // whose directory changed), so a new unit file needs no daemon-reload.
    const auto unit_reply = co_await call(path, "org.freedesktop.DBus.Properties", "GetAll", unit_args);
    Properties unit;
    if (!unit_reply.outcome.ok || !parse_properties(unit_reply.message.get(), unit)) {
        s.read_ok = false;
        co_return s;
    }
    s.load_state = unit.str("LoadState");
    s.load_error = unit.str("LoadError");
    s.active_state = unit.str("ActiveState");
    s.sub_state = unit.str("SubState");
    s.fragment_path = unit.str("FragmentPath");
    s.invocation_id = unit.str("InvocationID");
    s.job_id = static_cast<uint32_t>(unit.num("Job"));
    s.need_daemon_reload = unit.num("NeedDaemonReload") != 0;
    if (s.load_state != "loaded") co_return s;
    const auto service_reply = co_await call(path, "org.freedesktop.DBus.Properties", "GetAll", service_args);
    Properties service;
    if (!service_reply.outcome.ok || !parse_properties(service_reply.message.get(), service)) {
        s.read_ok = false;
        co_return s;
    }
    s.result = service.str("Result");
    s.service_type = service.str("Type");
    s.exit_code = static_cast<int32_t>(service.num("ExecMainCode"));
    s.exit_status = static_cast<int32_t>(service.num("ExecMainStatus"));
    s.main_pid = static_cast<uint32_t>(service.num("MainPID"));
    s.started_usec = service.num("ExecMainStartTimestamp");
    s.exited_usec = service.num("ExecMainExitTimestamp");
    co_return s;
}

// (Arguments as named locals, never temporaries inside a co_await expression: GCC 12 may
// destroy those twice.)
asio::awaitable<JobOutcome> UnitManager::job(const char *method, const std::string &name) {
    const std::function<int(sd_bus_message *)> args = [&name](sd_bus_message *m) {
        return sd_bus_message_append(m, "ss", name.c_str(), "replace");
    };
    const auto reply = co_await call(kManagerPath, kManager, method, args);
    co_return reply.outcome;
}

asio::awaitable<JobOutcome> UnitManager::start(const std::string &name) { co_return co_await job("StartUnit", name); }
asio::awaitable<JobOutcome> UnitManager::restart(const std::string &name) { co_return co_await job("RestartUnit", name); }

asio::awaitable<JobOutcome> UnitManager::stop(const std::string &name) {
    auto outcome = co_await job("StopUnit", name);
    if (!outcome.ok && outcome.error_name == "org.freedesktop.systemd1.NoSuchUnit") outcome = JobOutcome{};
    co_return outcome;
}

asio::awaitable<JobOutcome> UnitManager::kill(const std::string &name, int signal) {
    const std::function<int(sd_bus_message *)> args = [&](sd_bus_message *m) {
        return sd_bus_message_append(m, "ssi", name.c_str(), "all", signal);
    };
    const auto reply = co_await call(kManagerPath, kManager, "KillUnit", args);
    co_return reply.outcome;
}

asio::awaitable<void> UnitManager::reset_failed(const std::string &name) {
    const std::function<int(sd_bus_message *)> args = [&](sd_bus_message *m) {
        return sd_bus_message_append(m, "s", name.c_str());
    };
    co_await call(kManagerPath, kManager, "ResetFailedUnit", args);
}

asio::awaitable<JobOutcome> UnitManager::reload() {
    if (reloading_) {  // share the reload in flight
        auto done = reload_done_;
        co_await done->async_wait(asio::as_tuple(asio::use_awaitable));
        co_return reload_outcome_;
    }
    reloading_ = true;
    reload_done_ = std::make_shared<asio::steady_timer>(io_, std::chrono::steady_clock::time_point::max());
    const auto start = std::chrono::steady_clock::now();
    const std::function<int(sd_bus_message *)> no_args;
    const auto reply = co_await call(kManagerPath, kManager, "Reload", no_args);
    spdlog::debug("systemd daemon-reload took {} ms",
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
    reload_outcome_ = reply.outcome;
    reloading_ = false;
    reload_done_->cancel();
    co_return reply.outcome;
}

std::vector<std::string> UnitManager::unit_files(const std::string &prefix) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(unit_dir_, ec)) {
        const auto name = e.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && name.size() > 8 && name.compare(name.size() - 8, 8, ".service") == 0)
            out.push_back(name);
    }
    return out;
}

std::optional<std::string> UnitManager::read_unit_file(const std::string &name) const {
    std::ifstream in(unit_dir_ / name);
    if (!in) return std::nullopt;
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void UnitManager::write_unit_file(const std::string &name, const std::string &content) {
    try {
        util::write_private_file(unit_dir_ / name, content);  // 0600 from the first byte, atomic
    } catch (const std::exception &e) {
        throw SystemdError(e.what());
    }
}

void UnitManager::remove_unit_file(const std::string &name) {
    // No reload: an inactive unit whose file is gone is garbage-collected by systemd, and a
    // later unit of the same name is reloaded when it is written (NeedDaemonReload).
    std::error_code ec;
    std::filesystem::remove(unit_dir_ / name, ec);
}

}  // namespace systemk::systemd
