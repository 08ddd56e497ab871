#include "systemd/unit_manager.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace systemk::systemd {
namespace {

constexpr const char *kService = "org.freedesktop.systemd1";
constexpr const char *kManagerPath = "/org/freedesktop/systemd1";
constexpr const char *kManager = "org.freedesktop.systemd1.Manager";
constexpr const char *kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char *kServiceIface = "org.freedesktop.systemd1.Service";
constexpr const char *kUnitPrefixPath = "/org/freedesktop/systemd1/unit";

struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    std::string text(int r) const { return e.message ? e.message : std::strerror(-r); }
};

std::string get_string(sd_bus *bus, const std::string &path, const char *iface, const char *prop) {
    BusError err;
    char *out = nullptr;
    const int r = sd_bus_get_property_string(bus, kService, path.c_str(), iface, prop, &err.e, &out);
    if (r < 0) return {};
    std::string s(out ? out : "");
    free(out);
    return s;
}


}  // namespace

UnitManager::UnitManager(boost::asio::io_context &io, std::filesystem::path unit_dir)
    : fd_(io), unit_dir_(std::move(unit_dir)) {
    int r = sd_bus_open_system(&bus_);
    if (r < 0) throw SystemdError(std::string("cannot connect to the system bus: ") + std::strerror(-r));
    std::filesystem::create_directories(unit_dir_);
    // Ask systemd to emit signals, and listen for changes of units and finished jobs.
    BusError err;
    sd_bus_message *reply = nullptr;
    r = sd_bus_call_method(bus_, kService, kManagerPath, kManager, "Subscribe", &err.e, &reply, "");
    sd_bus_message_unref(reply);
    if (r < 0) throw SystemdError("systemd Subscribe failed: " + err.text(r));
    r = sd_bus_match_signal(bus_, &props_slot_, kService, nullptr, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                            &UnitManager::on_properties_changed, this);
    if (r < 0) throw SystemdError(std::string("cannot watch unit changes: ") + std::strerror(-r));
    r = sd_bus_match_signal(bus_, &jobs_slot_, kService, kManagerPath, kManager, "JobRemoved", &UnitManager::on_job_removed, this);
    if (r < 0) throw SystemdError(std::string("cannot watch systemd jobs: ") + std::strerror(-r));
    fd_.assign(::dup(sd_bus_get_fd(bus_)));
    watch_bus();
}

UnitManager::~UnitManager() {
    boost::system::error_code ec;
    fd_.cancel(ec);
    fd_.close(ec);
    sd_bus_slot_unref(props_slot_);
    sd_bus_slot_unref(jobs_slot_);
    sd_bus_flush_close_unref(bus_);
}

void UnitManager::on_change(std::function<void(const std::string &)> callback) { callback_ = std::move(callback); }

void UnitManager::watch_bus() {
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code &ec) {
        if (ec) return;
        process_bus();
        watch_bus();
    });
}

void UnitManager::process_bus() {
    for (;;) {
        const int r = sd_bus_process(bus_, nullptr);
        if (r < 0) {
            spdlog::error("systemd bus processing failed: {}", std::strerror(-r));
            return;
        }
        if (r == 0) return;
    }
}

int UnitManager::on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *) {
    auto *self = static_cast<UnitManager *>(userdata);
    const char *path = sd_bus_message_get_path(m);
    if (!path || !self->callback_) return 0;
    char *name = nullptr;
    if (sd_bus_path_decode(path, kUnitPrefixPath, &name) > 0 && name) {
        std::string unit(name);
        free(name);
        if (unit.rfind("systemk.", 0) == 0) self->callback_(unit);
    }
    return 0;
}

int UnitManager::on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *) {
    auto *self = static_cast<UnitManager *>(userdata);
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0 || !unit || !self->callback_) return 0;
    if (std::string(unit).rfind("systemk.", 0) == 0) self->callback_(unit);
    return 0;
}

std::string UnitManager::version() { return get_string(bus_, kManagerPath, kManager, "Version"); }

std::vector<std::string> UnitManager::list_units(const std::string &pattern) {
    BusError err;
    sd_bus_message *reply = nullptr;
    sd_bus_message *req = nullptr;
    std::vector<std::string> out;
    int r = sd_bus_message_new_method_call(bus_, &req, kService, kManagerPath, kManager, "ListUnitsByPatterns");
    if (r >= 0) r = sd_bus_message_append_strv(req, nullptr);
    if (r >= 0) {
        char *patterns[] = {const_cast<char *>(pattern.c_str()), nullptr};
        r = sd_bus_message_append_strv(req, patterns);
    }
    if (r >= 0) r = sd_bus_call(bus_, req, 0, &err.e, &reply);
    sd_bus_message_unref(req);
    if (r < 0) throw SystemdError("ListUnitsByPatterns failed: " + err.text(r));
    r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
    const char *name = nullptr, *s1, *s2, *s3, *s4, *s5, *o1, *s6, *o2;
    uint32_t u = 0;
    while (r >= 0 && sd_bus_message_read(reply, "(ssssssouso)", &name, &s1, &s2, &s3, &s4, &s5, &o1, &u, &s6, &o2) > 0)
        out.emplace_back(name);
    sd_bus_message_unref(reply);
    return out;
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
    const auto target = unit_dir_ / name;
    const auto tmp = unit_dir_ / ("." + name + ".tmp");
    // 0600 from creation on: a unit file names the pod's secrets' places; only root reads it.
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw SystemdError("cannot create " + tmp.string() + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            throw SystemdError("cannot write " + tmp.string() + ": " + std::strerror(errno));
        }
        done += static_cast<size_t>(n);
    }
    ::fchmod(fd, 0600);
    ::close(fd);
    std::filesystem::rename(tmp, target);
    reload_pending_ = true;
}

void UnitManager::remove_unit_file(const std::string &name) {
    // No reload: an inactive unit whose file is gone is garbage-collected by systemd, and a
    // later unit of the same name is reloaded when it is written (NeedDaemonReload).
    std::error_code ec;
    std::filesystem::remove(unit_dir_ / name, ec);
}

void UnitManager::reload_if_needed() {
    if (!reload_pending_) return;
    BusError err;
    sd_bus_message *reply = nullptr;
    const auto start = std::chrono::steady_clock::now();
    const int r = sd_bus_call_method(bus_, kService, kManagerPath, kManager, "Reload", &err.e, &reply, "");
    sd_bus_message_unref(reply);
    if (r < 0) throw SystemdError("daemon-reload failed: " + err.text(r));
    reload_pending_ = false;
    spdlog::debug("systemd daemon-reload took {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          std::chrono::steady_clock::now() - start).count());
}

std::string UnitManager::unit_path(const std::string &name) {
    BusError err;
    sd_bus_message *reply = nullptr;
    const int r = sd_bus_call_method(bus_, kService, kManagerPath, kManager, "LoadUnit", &err.e, &reply, "s", name.c_str());
    if (r < 0) throw SystemdError("LoadUnit " + name + " failed: " + err.text(r));
    const char *path = nullptr;
    std::string out;
    if (sd_bus_message_read(reply, "o", &path) >= 0 && path) out = path;
    sd_bus_message_unref(reply);
    return out;
}

namespace {

// The scalar properties of one interface, by name, from a single GetAll call.
struct Properties {
    std::map<std::string, std::string> strings;
    std::map<std::string, uint64_t> numbers;  // integers and booleans
    std::string str(const char *k) const { auto it = strings.find(k); return it == strings.end() ? "" : it->second; }
    uint64_t num(const char *k) const { auto it = numbers.find(k); return it == numbers.end() ? 0 : it->second; }
};

Properties get_all(sd_bus *bus, const std::string &path, const char *iface) {
    Properties out;
    BusError err;
    sd_bus_message *reply = nullptr;
    if (sd_bus_call_method(bus, kService, path.c_str(), "org.freedesktop.DBus.Properties", "GetAll", &err.e, &reply, "s",
                           iface) < 0)
        return out;
    if (sd_bus_message_enter_container(reply, 'a', "{sv}") > 0) {
        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
            const char *name = nullptr;
            const char *contents = nullptr;
            char type = 0;
            sd_bus_message_read(reply, "s", &name);
            sd_bus_message_peek_type(reply, &type, &contents);
            if (name && contents && contents[1] == '\0' && sd_bus_message_enter_container(reply, 'v', contents) > 0) {
                union {
                    int32_t i; uint32_t u; uint64_t t; int b;
                } v{};
                const char *str = nullptr;
                switch (contents[0]) {
                    case 's': case 'o': if (sd_bus_message_read_basic(reply, contents[0], &str) > 0 && str) out.strings[name] = str; break;
                    case 'i': if (sd_bus_message_read_basic(reply, 'i', &v.i) > 0) out.numbers[name] = static_cast<uint64_t>(static_cast<uint32_t>(v.i)); break;
                    case 'u': if (sd_bus_message_read_basic(reply, 'u', &v.u) > 0) out.numbers[name] = v.u; break;
                    case 't': if (sd_bus_message_read_basic(reply, 't', &v.t) > 0) out.numbers[name] = v.t; break;
                    case 'b': if (sd_bus_message_read_basic(reply, 'b', &v.b) > 0) out.numbers[name] = v.b ? 1 : 0; break;
                    default: sd_bus_message_skip(reply, contents); break;
                }
                sd_bus_message_exit_container(reply);
            } else {
                sd_bus_message_skip(reply, "v");
            }
            sd_bus_message_exit_container(reply);
        }
    }
    sd_bus_message_unref(reply);
    return out;
}

}  // namespace

UnitState UnitManager::state(const std::string &name) {
    // Two GetAll calls instead of one call per property: this runs on every reconcile.
    const auto path = unit_path(name);
    const auto unit = get_all(bus_, path, kUnitIface);
    UnitState s;
    s.name = name;
    s.load_state = unit.str("LoadState");
    s.active_state = unit.str("ActiveState");
    s.sub_state = unit.str("SubState");
    s.fragment_path = unit.str("FragmentPath");
    s.need_daemon_reload = unit.num("NeedDaemonReload") != 0;
    if (s.load_state != "loaded") return s;
    const auto service = get_all(bus_, path, kServiceIface);
    s.result = service.str("Result");
    s.exit_code = static_cast<int32_t>(service.num("ExecMainCode"));
    s.exit_status = static_cast<int32_t>(service.num("ExecMainStatus"));
    s.main_pid = static_cast<uint32_t>(service.num("MainPID"));
    s.started_usec = service.num("ExecMainStartTimestamp");
    s.exited_usec = service.num("ExecMainExitTimestamp");
    return s;
}

// StartUnit/RestartUnit/StopUnit with mode "replace"; returns the bus error name on failure.
int UnitManager::unit_job(const char *method, const std::string &name, std::string &error) {
    BusError err;
    sd_bus_message *reply = nullptr;
    const int r = sd_bus_call_method(bus_, kService, kManagerPath, kManager, method, &err.e, &reply, "ss", name.c_str(), "replace");
    sd_bus_message_unref(reply);
    if (r < 0) error = std::string(err.e.name ? err.e.name : "") + ": " + err.text(r);
    return r;
}

void UnitManager::start(const std::string &name) {
    std::string error;
    if (unit_job("StartUnit", name, error) < 0) throw SystemdError("starting " + name + " failed: " + error);
}

void UnitManager::restart(const std::string &name) {
    std::string error;
    if (unit_job("RestartUnit", name, error) < 0) throw SystemdError("restarting " + name + " failed: " + error);
}

void UnitManager::stop(const std::string &name) {
    std::string error;
    if (unit_job("StopUnit", name, error) < 0 && error.rfind("org.freedesktop.systemd1.NoSuchUnit", 0) != 0)
        throw SystemdError("stopping " + name + " failed: " + error);
}

void UnitManager::kill(const std::string &name, int signal) {
    BusError err;
    sd_bus_message *reply = nullptr;
    sd_bus_call_method(bus_, kService, kManagerPath, kManager, "KillUnit", &err.e, &reply, "ssi", name.c_str(), "all", signal);
    sd_bus_message_unref(reply);
}

void UnitManager::reset_failed(const std::string &name) {
    BusError err;
    sd_bus_message *reply = nullptr;
    sd_bus_call_method(bus_, kService, kManagerPath, kManager, "ResetFailedUnit", &err.e, &reply, "s", name.c_str());
    sd_bus_message_unref(reply);
}

}  // namespace systemk::systemd
