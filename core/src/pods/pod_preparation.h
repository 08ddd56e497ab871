#pragma once
// The plugin-facing steps before unit synthesis: resolve each container's image and make each
// volume exist. With dry_run nothing on the host changes (what `systemk render` uses).
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "plugins/plugin_loader.h"
#include "pods/node_context.h"
#include "pods/object_lookup.h"
#include "units/synthesis.h"

namespace systemk::pods {

// Throws SpecError (reason ErrImagePull) naming the container's image field.
std::map<std::string, units::ResolvedImage> resolve_images(const boost::json::object &pod,
                                                           const plugins::PluginRegistry &plugins, bool dry_run);

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
