#include "cli/plugin_options.h"

namespace systemk::cli {

std::vector<OptionSpec> plugin_option_specs() {
    return {
        {"--plugin-dir", {}, true, "where plugin .so files are (default: ../lib/systemk/plugins next to the binary)"},
        {"--disable-plugin", {}, true, "do not load the plugin with this name (repeatable)"},
        {"--plugin-option", {}, true, "PLUGIN.KEY=VALUE setting handed to a plugin (repeatable)"},
    };
}

void load_plugins(const Options &options, plugins::PluginRegistry &registry) {
    plugins::LoadOptions load;
    for (const auto &name : options.all("--disable-plugin")) load.disabled.insert(name);
    for (const auto &kv : options.all("--plugin-option")) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || kv.find('.') > eq)
            throw UsageError("--plugin-option wants PLUGIN.KEY=VALUE, got '" + kv + "'");
        load.config[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    registry.load_directory(options.get_or("--plugin-dir", plugins::default_plugin_dir().string()), load);
}

}  // namespace systemk::cli
