#pragma once
// systemd's unit API over sd-bus, asynchronous on the agent's io_context: every method call is
// sent with sd_bus_call_async and its reply resumes the calling coroutine, so one slow answer
// never holds up another pod. The bus socket is watched by Asio (read, write when sd-bus has
// queued output, and sd-bus's own timeouts). A disconnect (dbus restart, systemd re-exec)
// fails the calls in flight, marks systemd unusable, and reconnects with back-off; then the
// owner is told to resync, because signals may have been missed.
#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include <systemd/sd-bus.h>

#include "systemd/unit_control.h"

namespace systemk::systemd {

class SystemdError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Whether the agent's systemd connection is up (for node readiness); false until a
// UnitManager connected.
bool unit_connection_usable();

class UnitManager final : public UnitControl {
public:
    // Connects to systemd (its private socket when we may, else the system bus); throws
    // SystemdError when neither answers. `unit_dir` is where unit files are written
    // (/run/systemd/system: gone at reboot, when the API server is the source of truth again).
    UnitManager(boost::asio::io_context &io, std::filesystem::path unit_dir);
    ~UnitManager() override;
    UnitManager(const UnitManager &) = delete;
    UnitManager &operator=(const UnitManager &) = delete;

    std::vector<std::string> unit_files(const std::string &prefix) const override;
    std::optional<std::string> read_unit_file(const std::string &name) const override;
    void write_unit_file(const std::string &name, const std::string &content) override;
    void remove_unit_file(const std::string &name) override;

    awaitable<UnitState> state(const std::string &name) override;
    awaitable<JobOutcome> start(const std::string &name) override;
    awaitable<JobOutcome> restart(const std::string &name) override;
    awaitable<JobOutcome> stop(const std::string &name) override;
    awaitable<JobOutcome> kill(const std::string &name, int signal) override;
    awaitable<void> reset_failed(const std::string &name) override;
    awaitable<JobOutcome> reload() override;

    bool usable() const override { return connected_; }
    void on_change(std::function<void(const std::string &unit)> callback) override { change_ = std::move(callback); }
    void on_resync(std::function<void()> callback) override { resync_ = std::move(callback); }

    // One method call's answer: the reply message, or the error.
    struct Reply {
        std::shared_ptr<sd_bus_message> message;
        JobOutcome outcome;
    };
    // Sends a method call to systemd and resumes with its reply. `append` adds the arguments.
    awaitable<Reply> call(const std::string &path, const char *iface, const char *method,
                          const std::function<int(sd_bus_message *)> &append);

private:
    void connect();  // throws SystemdError
    void lost(const char *why);
    void schedule_reconnect();
    void rearm();    // waits for what sd-bus wants next (read, write, timeout)
    void process();  // dispatches replies and signals
    awaitable<JobOutcome> job(const char *method, const std::string &name);
    static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *);
    static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *);
    static int on_reloading(sd_bus_message *m, void *userdata, sd_bus_error *);

    boost::asio::io_context &io_;
    std::filesystem::path unit_dir_;
    sd_bus *bus_ = nullptr;
    boost::asio::posix::stream_descriptor fd_;
    boost::asio::steady_timer timeout_;
    boost::asio::steady_timer reconnect_timer_;
    std::chrono::milliseconds reconnect_backoff_{250};
    bool connected_ = false;
    bool reading_ = false, writing_ = false, timer_armed_ = false;
    bool reloading_ = false;
    std::shared_ptr<boost::asio::steady_timer> reload_done_;
    JobOutcome reload_outcome_;
    std::function<void(const std::string &)> change_;
    std::function<void()> resync_;
    std::set<void *> in_flight_;  // PendingCall objects sd-bus still holds
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace systemk::systemd
