#pragma once
// The plugin-facing steps before unit synthesis: resolve each container's image and make each
// volume exist. With dry_run nothing on the host changes (what `systemk render` uses).
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "plugins/plugin_loader.h"
#include "pods/node_context.h"
#include "pods/object_lookup.h"
#include "units/synthesis.h"

namespace systemk::pods {

// Told about image pulls (package downloads and installs) as they happen, on the preparing
// thread: `pulling` before one starts, `pulled` when it is done; each gets the container's name
// and a message for its Event. Either may be empty.
struct PullReporter {
    std::function<void(const std::string &container, const std::string &message)> pulling, pulled;
    // Set: a pull is not run here; resolve_images throws PullDeferred before changing anything,
    // so that the caller runs it where a long wait holds up nothing else.
    bool defer = false;
};

class PullDeferred : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws SpecError (reason ErrImagePull) naming the container's image field. When `report` has
// callbacks, each image is first asked for with dryRun: a result saying "present": false means
// the real call will pull, and the pull is reported.
std::map<std::string, units::ResolvedImage> resolve_images(const boost::json::object &pod,
                                                           const plugins::PluginRegistry &plugins, bool dry_run,
                                                           const PullReporter &report = {});

// Throws SpecError naming the volume for unknown types or handler failures. configMap, secret,
// projected and downwardAPI content is resolved here (from `objects`) and handed to the plugin
// as data; a missing non-optional object is an error.
// `before_call`, when set, sees every request right before its plugin is called (the volume
// manager records what it must clean up later).
using VolumeCallObserver = std::function<void(const std::string &volume, const boost::json::object &request)>;
std::map<std::string, units::PreparedVolume> prepare_volumes(const boost::json::object &pod,
                                                             const plugins::PluginRegistry &plugins,
                                                             const NodeContext &node, bool dry_run,
                                                             const ObjectLookup &objects,
                                                             const VolumeCallObserver &before_call = {});

// Rewrites the pod's live volumes (configMap, secret, downwardAPI, projected: what follows the
// API while the pod runs) from current content; the others are left alone. Every volume is
// tried; the first failure is thrown afterwards as a SpecError (its volume keeps its content).
void refresh_live_volumes(const boost::json::object &pod, const plugins::PluginRegistry &plugins,
                          const NodeContext &node, const ObjectLookup &objects);

// configMap, secret, downwardAPI and projected: volumes whose content follows the API.
bool is_live_volume_type(const std::string &type);

// Volume types that may carry secrets or tokens: they live on tmpfs, never on persistent disk.
bool is_sensitive_volume_type(const std::string &type);

}  // namespace systemk::pods
