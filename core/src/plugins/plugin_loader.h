#pragma once
// Loads plugin shared objects through the C ABI in systemk/plugin.h and wraps them for C++.
#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "systemk/plugin.h"

namespace systemk::plugins {

// A failed plugin call: the status the plugin returned and its message.
class PluginCallError : public std::runtime_error {
public:
    PluginCallError(systemk_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    systemk_status status() const { return status_; }

private:
    systemk_status status_;
};

// Settings the host passes to plugins through config_get ("<plugin>.<key>" -> value).
using PluginConfig = std::map<std::string, std::string>;

class Plugin {
public:
    virtual ~Plugin() = default;
    virtual const std::string &name() const = 0;
    virtual const std::string &version() const = 0;
    virtual const std::string &description() const = 0;
    virtual systemk_plugin_kind kind() const = 0;
    virtual const std::vector<std::string> &handles() const = 0;
    virtual const std::filesystem::path &file() const = 0;
    virtual std::string abi() const = 0;  // "major.minor" the plugin was built with

    // Resolver calls (kind == IMAGE_RESOLVER).
    virtual int claim(const std::string &image) const = 0;
    virtual boost::json::value resolve(const boost::json::value &request) const = 0;
    virtual void release(const boost::json::value &request) const = 0;
    // Volume calls (kind == VOLUME_HANDLER).
    virtual boost::json::value prepare(const boost::json::value &request) const = 0;
    virtual void cleanup(const boost::json::value &request) const = 0;
};

struct LoadOptions {
    std::set<std::string> disabled;  // plugin names not to use
    PluginConfig config;
};

struct AbiVersion {
    uint16_t major = SYSTEMK_ABI_MAJOR;
    uint16_t minor = SYSTEMK_ABI_MINOR;
};

class PluginRegistry {
public:
    // `host` is the ABI this host speaks; tests pass other values to exercise negotiation.
    explicit PluginRegistry(AbiVersion host = {});
    ~PluginRegistry();
    PluginRegistry(const PluginRegistry &) = delete;
    PluginRegistry &operator=(const PluginRegistry &) = delete;

    // Loads every *.so in `dir`, in file-name order. A plugin that cannot be loaded is logged
    // (one line naming the file and why) and skipped; the others still load.
    void load_directory(const std::filesystem::path &dir, const LoadOptions &options);
    // Loads one file; returns false (after logging why) if it was refused. The plugin's name comes
    // from the file name (plugin_file_policy.h); a disabled, already loaded or untrusted
    // (ownership, permissions) file is refused without being opened, and a library whose
    // descriptor declares another name is refused after opening.
    bool load_file(const std::filesystem::path &file, const LoadOptions &options);

    const std::vector<std::unique_ptr<Plugin>> &plugins() const { return plugins_; }
    // The resolver with the highest claim on `image` (first loaded wins ties), or nullptr; also
    // nullptr, without asking any plugin, for an image image_name_problem refuses.
    const Plugin *resolver_for(const std::string &image) const;
    // The volume handler that lists `type` in its handles, or nullptr.
    const Plugin *volume_handler_for(const std::string &type) const;

private:
    AbiVersion host_abi_;
    std::vector<std::unique_ptr<Plugin>> plugins_;
};

// Where plugins live: next to the binary (../lib/systemk/plugins), which is both the build tree
// layout and the installed layout.
std::filesystem::path default_plugin_dir();

}  // namespace systemk::plugins
