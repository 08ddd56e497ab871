#pragma once
// The host's systemd over sd-bus (the system bus).
#include <optional>
#include <string>

namespace systemk::systemd {

// systemd's version ("252.38-1~deb12u1"), or nullopt if systemd does not answer.
std::optional<std::string> manager_version();

}  // namespace systemk::systemd
