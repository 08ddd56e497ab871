#include "pods/container_status.h"

#include <csignal>
#include <ctime>

namespace systemk::pods {

std::string rfc3339_from_usec(uint64_t usec) {
    if (usec == 0) return {};
    const std::time_t t = static_cast<std::time_t>(usec / 1000000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool unit_running(const systemd::UnitState &s) {
    // RemainAfterExit=yes: "active (exited)" is a finished container.
    if (s.active_state == "active") return s.sub_state != "exited";
    return s.active_state == "activating" || s.active_state == "reloading" ||
           (s.active_state == "deactivating" && s.main_pid != 0);
}

bool unit_finished(const systemd::UnitState &s) {
    // The main process must have started: a unit that is only being started (a queued job, an
    // InvocationID already) has not finished anything.
    return s.started_usec != 0 && !s.busy() && !unit_running(s) &&
           (s.active_state == "inactive" || s.active_state == "failed" || s.active_state == "active");
}

std::optional<Termination> termination_of(const systemd::UnitState &s) {
    if (!unit_finished(s)) return std::nullopt;
    Termination t;
    constexpr int kExited = 1;  // CLD_EXITED
    if (s.exit_code == kExited) {
        t.exit_code = s.exit_status;
    } else {
        t.signal = s.exit_status;
        t.exit_code = 128 + s.exit_status;  // what a shell would report
    }
    if (s.result == "oom-kill" || (t.signal == SIGKILL && s.result == "oom-kill")) t.reason = "OOMKilled";
    else t.reason = (t.exit_code == 0 && s.result == "success") ? "Completed" : "Error";
    if (s.result == "exec-condition" || s.result == "resources") t.reason = "ContainerCannotRun";
    t.started_at = rfc3339_from_usec(s.started_usec);
    t.finished_at = rfc3339_from_usec(s.exited_usec ? s.exited_usec : s.started_usec);
    return t;
}

boost::json::object terminated_json(const Termination &t, const std::string &unit) {
    boost::json::object o{{"exitCode", t.exit_code}, {"reason", t.reason}, {"containerID", "systemd://" + unit}};
    if (t.signal) o["signal"] = t.signal;
    if (!t.started_at.empty()) o["startedAt"] = t.started_at;
    if (!t.finished_at.empty()) o["finishedAt"] = t.finished_at;
    return o;
}

}  // namespace systemk::pods
