#pragma once
// What pkg-apt and pkg-url share after libapt-pkg has done its part: remembering which
// packages systemk installed, masking their own units, and the result the host reads.
#include <functional>
#include <string>

#include "apt_packages.h"

namespace pkg_apt {

using Logger = std::function<void(bool warning, const std::string &message)>;

struct Outcome {
    std::string json;   // the resolve result, when ok
    std::string error;  // else the one-line error
};

// Runs the plan: installs when needed (then remembers the package under state_dir and masks
// every unit it ships that could start it outside Kubernetes), and describes the package's
// unit. `has_command`: the pod gives its own command, so a package with several services and
// none named after it is not an error. Throws AptError.
Outcome install_and_describe(AptOperations &apt, const Plan &plan, const std::string &state_dir, bool has_command,
                             const Logger &log);

// The result of a dry run: version, whether it is present, and its unit when it is.
Outcome describe_dry_run(const AptOperations &apt, const Plan &plan, const std::string &state_dir);

}  // namespace pkg_apt
