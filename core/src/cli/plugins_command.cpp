#include <iostream>

#include "cli/commands.h"
#include "cli/plugin_options.h"

namespace systemk::cli {

int plugins_command(const std::vector<std::string> &args) {
    auto specs = plugin_option_specs();
    specs.push_back({"--help", {"-h"}, false, "show this help"});
    const Options options(specs, args);
    if (options.flag("--help")) {
        std::cout << "Usage: systemk plugins [options]\nLists the loaded plugins.\n\n" << format_help(specs);
        return 0;
    }
    plugins::PluginRegistry registry;
    load_plugins(options, registry);
    std::cout << "NAME\tKIND\tVERSION\tABI\tHANDLES\tFILE\n";
    for (const auto &p : registry.plugins()) {
        std::string handles;
        for (const auto &h : p->handles()) handles += (handles.empty() ? "" : ",") + h;
        std::cout << p->name() << '\t'
                  << (p->kind() == SYSTEMK_KIND_IMAGE_RESOLVER ? "image-resolver" : "volume-handler") << '\t'
                  << p->version() << '\t' << p->abi() << '\t' << handles << '\t' << p->file().string() << '\n';
    }
    return 0;
}

}  // namespace systemk::cli
