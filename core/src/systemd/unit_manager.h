#pragma once
// systemd's unit API over sd-bus: write/start/stop/remove service units, read their state, and
// get told when any systemk unit changes (PropertiesChanged/JobRemoved), integrated into an
// Asio io_context so that no thread polls.
#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemd/sd-bus.h>

namespace systemk::systemd {

class SystemdError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct UnitState {
    std::string name;
    std::string load_state;    // loaded, not-found, ...
    std::string active_state;  // active, inactive, failed, activating, deactivating
    std::string sub_state;     // running, exited, dead, failed, ...
    std::string result;        // success, exit-code, signal, oom-kill, ...
    int32_t exit_code = 0;     // ExecMainCode: CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3
    int32_t exit_status = 0;   // ExecMainStatus
    uint32_t main_pid = 0;
    uint64_t started_usec = 0;  // ExecMainStartTimestamp (realtime, µs)
    uint64_t exited_usec = 0;   // ExecMainExitTimestamp
    std::string invocation_id;
    std::string fragment_path;
    bool need_daemon_reload = false;
    bool ever_started() const { return started_usec != 0; }
};

class UnitManager {
public:
    // Connects to the system bus. `unit_dir` is where unit files are written
    // (/run/systemd/system: gone at reboot, when the API server is the source of truth again).
    UnitManager(boost::asio::io_context &io, std::filesystem::path unit_dir);
    ~UnitManager();
    UnitManager(const UnitManager &) = delete;
    UnitManager &operator=(const UnitManager &) = delete;

    std::string version();
    // Names of loaded units matching a glob ("systemk.*").
    std::vector<std::string> list_units(const std::string &pattern);
    // Names of unit files in unit_dir matching our prefix (also units systemd has not loaded).
    std::vector<std::string> unit_files(const std::string &prefix) const;
    std::optional<std::string> read_unit_file(const std::string &name) const;

    void write_unit_file(const std::string &name, const std::string &content);
    void remove_unit_file(const std::string &name);
    // Makes systemd see written/removed files. Cheap when nothing is pending.
    void reload_if_needed();

    UnitState state(const std::string &name);
    void start(const std::string &name);
    // Starts it again if it ran before (also from "active (exited)"), or starts it.
    void restart(const std::string &name);
    void stop(const std::string &name);
    void reset_failed(const std::string &name);
    // Sends a signal to every process of the unit.
    void kill(const std::string &name, int signal);

    // Handles signals that synchronous calls queued while waiting for their replies (they do
    // not make the socket readable again). Call after a batch of calls.
    void process_pending() { process_bus(); }

    // Called with a unit name whenever one of our units changes.
    void on_change(std::function<void(const std::string &unit)> callback);

private:
    void watch_bus();
    void process_bus();
    static int on_properties_changed(::sd_bus_message *m, void *userdata, ::sd_bus_error *);
    static int on_job_removed(::sd_bus_message *m, void *userdata, ::sd_bus_error *);
    std::string unit_path(const std::string &name);
    int unit_job(const char *method, const std::string &name, std::string &error);

    sd_bus *bus_ = nullptr;
    sd_bus_slot *props_slot_ = nullptr;
    sd_bus_slot *jobs_slot_ = nullptr;
    boost::asio::posix::stream_descriptor fd_;
    std::filesystem::path unit_dir_;
    bool reload_pending_ = false;
    std::function<void(const std::string &)> callback_;
};

}  // namespace systemk::systemd
