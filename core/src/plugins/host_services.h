#pragma once
// The systemk_host table the host hands to each plugin: logging, config lookup, HTTPS fetch.
#include <memory>
#include <string>

#include "plugins/plugin_loader.h"
#include "systemk/plugin.h"

namespace systemk::plugins {

// One per plugin, so that log lines and config keys carry the plugin's name. Its address must
// stay stable for the process lifetime (plugins may keep the pointer).
class PluginHost {
public:
    PluginHost(std::string file_label, const PluginConfig &config, uint16_t abi_major, uint16_t abi_minor);
    const systemk_host *table() const { return &table_; }
    void set_plugin_name(std::string name) { name_ = std::move(name); }
    const std::string &plugin_name() const { return name_; }
    // Plugin settings, plus host settings under "systemk." (e.g. systemk.fetch-ca-file).
    const PluginConfig &config() const { return config_; }

private:
    std::string name_;
    PluginConfig config_;
    systemk_host table_{};
};

// Collects what a plugin writes into an output.
struct OutputBuffer {
    std::string text;
    systemk_output out{sizeof(systemk_output), this, &OutputBuffer::append};
    static void append(void *ctx, const char *data, size_t len);
};

}  // namespace systemk::plugins
