#pragma once
// The sandbox a pod's unit gets: what a container runtime's defaults give a container, in
// systemd terms, widened only where the pod's securityContext may widen it (privileged,
// capabilities, seccompProfile, allowPrivilegeEscalation, hostIPC, hostPID), the way containerd
// maps the same spec.
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "units/unit_file.h"

namespace systemk::units {

// The container runtimes' default capability set (containerd, CRI-O, Docker).
const std::vector<std::string> &default_capabilities();
// Every capability name Linux knows ("CAP_CHOWN", ...).
bool is_known_capability(const std::string &name);

struct SandboxResult {
    bool privileged = false;
    std::vector<std::string> capabilities;  // the bounding set granted, sorted
};

// Adds the sandbox directives to [Service]. `pod_spec` is the pod's spec, `container` the
// container, `path` its JSON path. Throws pods::SpecError for unknown capability names,
// unsupported seccomp profiles and contradictions (privileged with allowPrivilegeEscalation false).
SandboxResult add_sandbox(UnitSection &service, const boost::json::object &pod_spec,
                          const boost::json::object &container, const std::string &path);

}  // namespace systemk::units
