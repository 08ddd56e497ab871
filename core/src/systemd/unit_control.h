#pragma once
// What the pod engine needs from systemd, as an interface: the real one is UnitManager (sd-bus,
// asynchronous), tests use a fake. Every call that talks to systemd is a coroutine on the
// agent's io_context and never blocks it; unit files are plain files (fast, local).
#include <boost/asio.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace systemk::systemd {

struct UnitState {
    std::string name;
    // False when systemd could not be asked (disconnected, timeout): the other fields mean
    // nothing then, and in particular not "never started".
    bool read_ok = true;
    std::string load_state;    // loaded, not-found, bad-setting, error, ...
    std::string load_error;    // systemd's message when load_state is not "loaded"
    std::string active_state;  // active, inactive, failed, activating, deactivating
    std::string sub_state;     // running, exited, dead, failed, ...
    std::string result;        // success, exit-code, signal, oom-kill, resources, ...
    std::string service_type;  // Type=: exec, simple, notify, forking, oneshot, dbus, idle
    int32_t exit_code = 0;     // ExecMainCode: CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3
    int32_t exit_status = 0;   // ExecMainStatus
    uint32_t main_pid = 0;
    uint32_t job_id = 0;        // a queued or running job: the unit is busy
    uint64_t started_usec = 0;  // ExecMainStartTimestamp (realtime, µs)
    uint64_t exited_usec = 0;   // ExecMainExitTimestamp
    std::string invocation_id;  // hex; new for every start of the unit
    std::string fragment_path;
    bool need_daemon_reload = false;
    bool ever_started() const { return started_usec != 0 || !invocation_id.empty(); }
    bool busy() const { return job_id != 0; }
};

// The answer to a job request (StartUnit, StopUnit, ...): whether systemd accepted it.
struct JobOutcome {
    bool ok = true;
    std::string error_name;  // D-Bus error name, e.g. org.freedesktop.systemd1.NoSuchUnit
    std::string message;     // systemd's own message
};

class UnitControl {
public:
    template <class T> using awaitable = boost::asio::awaitable<T>;
    virtual ~UnitControl() = default;

    // Unit files in the unit directory whose names start with `prefix`.
    virtual std::vector<std::string> unit_files(const std::string &prefix) const = 0;
    virtual std::optional<std::string> read_unit_file(const std::string &name) const = 0;
    // Atomically, mode 0600 (a unit may reference secret files).
    virtual void write_unit_file(const std::string &name, const std::string &content) = 0;
    virtual void remove_unit_file(const std::string &name) = 0;

    virtual awaitable<UnitState> state(const std::string &name) = 0;
    virtual awaitable<JobOutcome> start(const std::string &name) = 0;
    // Starts it again if it ran before (also from "active (exited)"), or starts it.
    virtual awaitable<JobOutcome> restart(const std::string &name) = 0;
    virtual awaitable<JobOutcome> stop(const std::string &name) = 0;
    virtual awaitable<JobOutcome> kill(const std::string &name, int signal) = 0;
    virtual awaitable<void> reset_failed(const std::string &name) = 0;
    // daemon-reload; concurrent callers share one reload.
    virtual awaitable<JobOutcome> reload() = 0;

    // Whether systemd can be reached right now (feeds node readiness).
    virtual bool usable() const = 0;
    // Called with a unit name whenever one of our units changes.
    virtual void on_change(std::function<void(const std::string &unit)> callback) = 0;
    // Called after a reconnect or a systemd re-exec: signals may have been missed.
    virtual void on_resync(std::function<void()> callback) = 0;
};

}  // namespace systemk::systemd
