#pragma once
// The plugin-facing steps before unit synthesis: resolve each container's image and make each
// volume exist. With dry_run nothing on the host changes (what `systemk render` uses).
#include <boost/json.hpp>

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
std::map<std::string, units::PreparedVolume> prepare_volumes(const boost::json::object &pod,
                                                             const plugins::PluginRegistry &plugins,
                                                             const NodeContext &node, bool dry_run,
                                                             const ObjectLookup &objects);

// Volume types that may carry secrets or tokens: they live on tmpfs, never on persistent disk.
bool is_sensitive_volume_type(const std::string &type);

}  // namespace systemk::pods
