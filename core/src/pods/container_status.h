#pragma once
// Kubernetes container and pod status derived from systemd unit state (pure functions).
#include <boost/json.hpp>

#include <optional>
#include <string>

#include "systemd/unit_control.h"

namespace systemk::pods {

struct Termination {
    int exit_code = 0;
    std::string reason;  // Completed, Error, OOMKilled
    std::string started_at, finished_at;
    int signal = 0;
};

// What the unit says about the current or last run, if it has run at all.
bool unit_running(const systemd::UnitState &s);
bool unit_finished(const systemd::UnitState &s);  // ran and is no longer running
std::optional<Termination> termination_of(const systemd::UnitState &s);
std::string rfc3339_from_usec(uint64_t usec);

// A container's "terminated" state (exit code, reason, signal, times) as the API writes it.
boost::json::object terminated_json(const Termination &t, const std::string &unit);

}  // namespace systemk::pods
