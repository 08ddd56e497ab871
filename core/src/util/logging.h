#pragma once
#include <string>

namespace systemk::util {

// Sets up spdlog: to the journal when systemd runs us as a service (JOURNAL_STREAM is set),
// else to stderr. `level` is trace|debug|info|warn|error. Throws std::invalid_argument.
void setup_logging(const std::string &level);

}  // namespace systemk::util
