#pragma once
// A container's environment with the kubelet's semantics: systemk's own variables first, then
// envFrom (with prefix; names systemd can't carry skipped with a warning), then env in order,
// each value expanded against the variables before it.
#include <boost/json.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pods/node_context.h"
#include "pods/object_lookup.h"

namespace systemk::pods {

struct Environment {
    std::vector<std::pair<std::string, std::string>> vars;  // in order, last assignment wins
    std::vector<std::string> warnings;                       // for Events (skipped names, ...)
    // Names whose final value comes from a secret, directly or through $(VAR) expansion: they
    // go to a root-only environment file, never into the unit file.
    std::set<std::string> sensitive;
};

// `container_path` is the container's JSON path for error messages ("spec.containers[1]").
// Throws SpecError (reason CreateContainerConfigError) for a missing mandatory reference.
Environment resolve_environment(const boost::json::object &pod, const boost::json::object &container,
                                const std::string &container_path, const NodeContext &node,
                                const ObjectLookup &objects);

}  // namespace systemk::pods
