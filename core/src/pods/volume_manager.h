#pragma once
// Owns the life of every pod volume through the volume plugins (the kubelet's volume manager):
// prepare before the containers start, refresh while they run (live volumes follow the API),
// cleanup once the pod is gone, also for pods deleted while the agent was down. Where the files
// live is pod_layout's business; what each plugin was asked to prepare is recorded (requests
// without content) so that its cleanup can be called after an agent restart as well.
// Stateless apart from that record: any number of instances may serve one node. Runs on worker
// threads; the reconciler never runs two calls for the same pod at once.
#include <boost/json.hpp>

#include <map>
#include <set>
#include <string>

#include "plugins/plugin_loader.h"
#include "pods/node_context.h"
#include "pods/object_lookup.h"
#include "units/synthesis.h"

namespace systemk::pods {

class VolumeManager {
public:
    VolumeManager(const plugins::PluginRegistry &plugins, NodeContext node);

    // Makes every volume of the pod exist; throws SpecError (what was made is recorded anyway).
    std::map<std::string, units::PreparedVolume> prepare(const boost::json::object &pod, const ObjectLookup &objects) const;
    // Rewrites the live volumes (configMap, secret, downwardAPI, projected) from current content.
    void refresh(const boost::json::object &pod, const ObjectLookup &objects) const;
    // The pod is gone: its directories go (mounts below them first), then every plugin that
    // prepared one of its volumes gets its cleanup call. Idempotent; failures are logged.
    void cleanup(const std::string &uid) const;
    // Cleans up every pod directory whose UID is not in `known` (pods deleted while the agent
    // was down, or whose preparation never got as far as a unit). Returns how many.
    size_t cleanup_orphans(const std::set<std::string> &known) const;

private:
    const plugins::PluginRegistry &plugins_;
    NodeContext node_;
};

}  // namespace systemk::pods
