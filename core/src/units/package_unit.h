#pragma once
#include <string_view>
#include <vector>

#include "units/systemd_quoting.h"
#include "units/unit_file.h"

namespace systemk::units {

// The default command a package's own service unit runs: the first ExecStart= of [Service],
// without systemd's prefixes (-@:+!), as words that keep the unit's specifiers and $VARs.
// Empty if the unit has none. Throws QuotingError if the line cannot be split.
std::vector<ExecWord> exec_start_of_package_unit(const UnitFile &unit);

}  // namespace systemk::units
