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

}  // namespace systemk::units
