#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "units/systemd_quoting.h"
#include "units/unit_file.h"

namespace systemk::units {

// The default command a package's own service unit runs: the first ExecStart= of [Service],
// without systemd's prefixes (-@:+!), as words that keep the unit's specifiers and $VARs.
// Empty if the unit has none. Throws QuotingError if the line cannot be split.
std::vector<ExecWord> exec_start_of_package_unit(const UnitFile &unit);

// The package unit's settings that make paths writable under ProtectSystem=strict
// (StateDirectory=, RuntimeDirectory=, LogsDirectory=, CacheDirectory=,
// ConfigurationDirectory=, their *Mode=, ReadWritePaths=), as (key, raw value) in order.
std::vector<std::pair<std::string, std::string>> writable_directives_of_package_unit(const UnitFile &unit);

using Directives = std::vector<std::pair<std::string, std::string>>;

// What else of a package's own unit a pod running it keeps, so that the daemon behaves as its
// packager intended. Each group is (key, raw value) in the unit's order, already vetted: no
// value holds a control character, and nothing that would weaken systemk's sandbox is kept
// (an Exec*= line loses its '+' and '!' prefixes, which would run it unsandboxed or as root;
// hardening switches are kept only when they switch protection on).
struct PackageUnitSettings {
    // Kept only when the pod runs the package's own command (no `command`): Type=, PIDFile=,
    // BusName=, NotifyAccess=, ExecStartPre=, ExecStartPost=, ExecReload=, ExecStop=, ExecStopPost=.
    Directives process;
    // Kept unless the pod's securityContext names a user: User=, Group=, SupplementaryGroups=, DynamicUser=.
    Directives identity;
    // Environment=, EnvironmentFile=, before the pod's own (the pod's values win).
    Directives environment;
    // WorkingDirectory=, unless the pod sets workingDir.
    Directives working_directory;
    // Switches that only ever tighten (PrivateTmp=yes, NoNewPrivileges=yes, ...).
    Directives hardening;
};

// Throws QuotingError naming the directive if a value holds a control character.
PackageUnitSettings settings_of_package_unit(const UnitFile &unit);

}  // namespace systemk::units
