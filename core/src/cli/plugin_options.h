#pragma once
#include "cli/options.h"
#include "plugins/plugin_loader.h"

namespace systemk::cli {

// --plugin-dir, --disable-plugin, --plugin-option: shared by every command that loads plugins.
std::vector<OptionSpec> plugin_option_specs();
void load_plugins(const Options &options, plugins::PluginRegistry &registry);

}  // namespace systemk::cli
