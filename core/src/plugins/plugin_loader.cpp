#include "plugins/plugin_loader.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

#include "metrics/agent_metrics.h"
#include "plugins/host_services.h"
#include "plugins/image_name.h"
#include "plugins/plugin_file_policy.h"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

namespace systemk::plugins {
namespace {

// Whether a struct written by the other side is large enough to contain `field`.
#define SYSTEMK_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)nullptr)->field))

std::string version_string(unsigned major, unsigned minor) { return std::to_string(major) + "." + std::to_string(minor); }

class LoadedPlugin final : public Plugin {
public:
    LoadedPlugin(boost::dll::shared_library lib, std::filesystem::path file, std::unique_ptr<PluginHost> host,
                 const systemk_plugin *descriptor)
        : lib_(std::move(lib)), file_(std::move(file)), host_(std::move(host)), d_(descriptor) {
        name_ = d_->name;
        version_ = d_->version ? d_->version : "";
        description_ = d_->description ? d_->description : "";
        if (d_->handles)
            for (const char *const *h = d_->handles; *h; ++h) handles_.emplace_back(*h);
        if (d_->kind == SYSTEMK_KIND_IMAGE_RESOLVER && SYSTEMK_HAS_FIELD(d_, systemk_plugin, resolver))
            resolver_ = d_->resolver;
        if (d_->kind == SYSTEMK_KIND_VOLUME_HANDLER && SYSTEMK_HAS_FIELD(d_, systemk_plugin, volume))
            volume_ = d_->volume;
    }
    ~LoadedPlugin() override {
        if (initialized_ && d_->fini) {
            try {
                d_->fini(instance_);
            } catch (...) {
                spdlog::error("plugin={} file={} fini threw an exception", name_, file_.string());
            }
        }
    }

    // Runs the plugin's init; false if it refused.
    bool init() {
        if (!d_->init) {
            initialized_ = true;
            return true;
        }
        OutputBuffer error;
        systemk_status status = SYSTEMK_ERR_INTERNAL;
        try {
            status = d_->init(host_->table(), &instance_, &error.out);
        } catch (...) {
            error.text = "init threw an exception";
        }
        if (status != SYSTEMK_OK) {
            spdlog::error("plugin={} file={} refused: init failed: {}", name_, file_.string(), error.text);
            return false;
        }
        initialized_ = true;
        return true;
    }

    // Checks that the ops table for the plugin's kind has every call of ABI 1.0.
    std::string check_ops() const {
        if (d_->kind == SYSTEMK_KIND_IMAGE_RESOLVER) {
            if (!resolver_) return "declares kind image-resolver but has no resolver table";
            if (!SYSTEMK_HAS_FIELD(resolver_, systemk_resolver_ops, release) || !resolver_->claim ||
                !resolver_->resolve || !resolver_->release)
                return "resolver table lacks claim, resolve or release";
            return {};
        }
        if (d_->kind == SYSTEMK_KIND_VOLUME_HANDLER) {
            if (!volume_) return "declares kind volume-handler but has no volume table";
            if (!SYSTEMK_HAS_FIELD(volume_, systemk_volume_ops, cleanup) || !volume_->prepare || !volume_->cleanup)
                return "volume table lacks prepare or cleanup";
            return {};
        }
        return "unknown kind " + std::to_string(d_->kind);
    }

    const std::string &name() const override { return name_; }
    const std::string &version() const override { return version_; }
    const std::string &description() const override { return description_; }
    systemk_plugin_kind kind() const override { return static_cast<systemk_plugin_kind>(d_->kind); }
    const std::vector<std::string> &handles() const override { return handles_; }
    const std::filesystem::path &file() const override { return file_; }
    std::string abi() const override { return version_string(d_->abi_major, d_->abi_minor); }

    int claim(const std::string &image) const override {
        if (!resolver_) return 0;
        try {
            return std::clamp(resolver_->claim(instance_, image.c_str()), 0, 100);
        } catch (...) {
            spdlog::error("plugin={} claim threw an exception (a bug in the plugin)", name_);
            return 0;
        }
    }
    boost::json::value resolve(const boost::json::value &request) const override {
        require(resolver_, "resolve");
        return call_with_result("resolve", [&](const char *req, systemk_output *res, systemk_output *err) {
            return resolver_->resolve(instance_, req, res, err);
        }, request);
    }
    void release(const boost::json::value &request) const override {
        require(resolver_, "release");
        call_with_result("release", [&](const char *req, systemk_output *, systemk_output *err) {
            return resolver_->release(instance_, req, err);
        }, request, false);
    }
    boost::json::value prepare(const boost::json::value &request) const override {
        require(volume_, "prepare");
        return call_with_result("prepare", [&](const char *req, systemk_output *res, systemk_output *err) {
            return volume_->prepare(instance_, req, res, err);
        }, request);
    }
    void cleanup(const boost::json::value &request) const override {
        require(volume_, "cleanup");
        call_with_result("cleanup", [&](const char *req, systemk_output *, systemk_output *err) {
            return volume_->cleanup(instance_, req, err);
        }, request, false);
    }

private:
    void require(const void *table, const char *call) const {
        if (!table) throw PluginCallError(SYSTEMK_ERR_UNSUPPORTED, "plugin " + name_ + " has no " + call + " call");
    }

    template <typename Call>
    boost::json::value call_with_result(const char *what, Call &&call, const boost::json::value &request,
                                        bool want_result = true) const {
        const auto req = boost::json::serialize(request);
        OutputBuffer result, error;
        systemk_status status = SYSTEMK_ERR_INTERNAL;
        auto timing = metrics::plugin_call(name_, what);  // a throw counts as an error
        try {
            status = call(req.c_str(), &result.out, &error.out);
            timing.finish(status == SYSTEMK_OK);
        } catch (...) {
            throw PluginCallError(SYSTEMK_ERR_INTERNAL,
                                  "plugin " + name_ + " " + what + " threw an exception (a bug in the plugin)");
        }
        if (status != SYSTEMK_OK) {
            if (error.text.empty()) error.text = "plugin " + name_ + " " + what + " failed with status " + std::to_string(status);
            throw PluginCallError(status, error.text);
        }
        if (!want_result) return nullptr;
        boost::system::error_code ec;
        auto value = boost::json::parse(result.text, ec);
        if (ec || !value.is_object())
            throw PluginCallError(SYSTEMK_ERR_INTERNAL, "plugin " + name_ + " " + what + " returned invalid JSON");
        return value;
    }

    boost::dll::shared_library lib_;  // declared first: destroyed last
    std::filesystem::path file_;
    std::unique_ptr<PluginHost> host_;
    const systemk_plugin *d_;
    const systemk_resolver_ops *resolver_ = nullptr;
    const systemk_volume_ops *volume_ = nullptr;
    void *instance_ = nullptr;
    bool initialized_ = false;
    std::string name_, version_, description_;
    std::vector<std::string> handles_;
};

}  // namespace

PluginRegistry::PluginRegistry(AbiVersion host) : host_abi_(host) {}
PluginRegistry::~PluginRegistry() {
    // Unload in reverse order of loading.
    while (!plugins_.empty()) plugins_.pop_back();
}

void PluginRegistry::load_directory(const std::filesystem::path &dir, const LoadOptions &options) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        spdlog::warn("plugin directory {} does not exist; no plugins loaded", dir.string());
        return;
    }
    std::vector<std::filesystem::path> files;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto &f : files) load_file(f, options);
}

bool PluginRegistry::load_file(const std::filesystem::path &file, const LoadOptions &options) {
    const auto label = file.string();
    // Everything up to dlopen decides from the file name and its metadata alone: opening the
    // library runs its constructors, so a disabled or untrusted file must never be opened.
    const auto file_name = plugin_name_from_file(file);
    if (!file_name) {
        spdlog::error("plugin file={} refused: its name is not <name>.so or libsystemk-<name>.so with a name of [a-z0-9-]",
                      label);
        return false;
    }
    const std::string &name = *file_name;
    if (options.disabled.contains(name)) {
        spdlog::info("plugin={} file={} disabled by configuration; not opened", name, label);
        return false;
    }
    for (const auto &p : plugins_) {
        if (p->name() == name) {
            spdlog::error("plugin={} file={} refused: already loaded from {}", name, label, p->file().string());
            return false;
        }
    }
    if (const auto why = untrusted_plugin_file_reason(file, geteuid()); !why.empty()) {
        spdlog::error("plugin={} file={} refused: {}", name, label, why);
        return false;
    }
    boost::dll::fs::error_code ec;
    boost::dll::shared_library lib(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec) {
        spdlog::error("plugin={} file={} refused: cannot load: {}", name, label, ec.message());
        return false;
    }
    if (!lib.has(SYSTEMK_PLUGIN_ENTRY_NAME)) {
        spdlog::error("plugin={} file={} refused: no {} symbol", name, label, SYSTEMK_PLUGIN_ENTRY_NAME);
        return false;
    }
    auto entry = lib.get<const systemk_plugin *(const systemk_host *)>(SYSTEMK_PLUGIN_ENTRY_NAME);
    auto host = std::make_unique<PluginHost>(name, options.config, host_abi_.major, host_abi_.minor);
    const systemk_plugin *d = nullptr;
    try {
        d = entry(host->table());
    } catch (...) {
        spdlog::error("plugin file={} refused: {} threw an exception", label, SYSTEMK_PLUGIN_ENTRY_NAME);
        return false;
    }
    if (!d) {
        spdlog::error("plugin file={} refused: it declined to load", label);
        return false;
    }
    if (d->struct_size < offsetof(systemk_plugin, kind) + sizeof(d->kind)) {
        spdlog::error("plugin file={} refused: descriptor too small ({} bytes)", label, d->struct_size);
        return false;
    }
    const auto host_abi = version_string(host_abi_.major, host_abi_.minor);
    const auto plugin_abi = version_string(d->abi_major, d->abi_minor);
    if (d->abi_major != host_abi_.major || d->abi_minor > host_abi_.minor) {
        spdlog::error("plugin file={} refused: plugin ABI {} is incompatible with host ABI {}", label, plugin_abi, host_abi);
        return false;
    }
    if (!SYSTEMK_HAS_FIELD(d, systemk_plugin, volume) || !d->name || !is_valid_plugin_name(d->name)) {
        spdlog::error("plugin file={} refused: descriptor is incomplete or its name is invalid", label);
        return false;
    }
    if (name != d->name) {
        spdlog::error("plugin={} file={} refused: it declares the name {} but its file name gives {}", name, label, d->name,
                      name);
        return false;
    }
    auto plugin = std::make_unique<LoadedPlugin>(std::move(lib), file, std::move(host), d);
    if (const auto problem = plugin->check_ops(); !problem.empty()) {
        spdlog::error("plugin={} file={} refused: {}", name, label, problem);
        return false;
    }
    if (!plugin->init()) return false;
    spdlog::debug("plugin={} file={} loaded (ABI {}, host ABI {})", name, label, plugin_abi, host_abi);
    plugins_.push_back(std::move(plugin));
    return true;
}

const Plugin *PluginRegistry::resolver_for(const std::string &image) const {
    // Callers report why an image is refused (pods::resolve_images); this keeps any other path
    // from handing a plugin an overlong or control-character image.
    if (image_name_problem(image)) return nullptr;
    const Plugin *best = nullptr;
    int best_score = 0;
    for (const auto &p : plugins_) {
        if (p->kind() != SYSTEMK_KIND_IMAGE_RESOLVER) continue;
        const int score = p->claim(image);
        if (score > best_score) {
            best = p.get();
            best_score = score;
        }
    }
    return best;
}

const Plugin *PluginRegistry::volume_handler_for(const std::string &type) const {
    for (const auto &p : plugins_) {
        if (p->kind() != SYSTEMK_KIND_VOLUME_HANDLER) continue;
        if (std::find(p->handles().begin(), p->handles().end(), type) != p->handles().end()) return p.get();
    }
    return nullptr;
}

std::filesystem::path default_plugin_dir() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "/usr/lib/systemk/plugins";
    return exe.parent_path().parent_path() / "lib" / "systemk" / "plugins";
}

}  // namespace systemk::plugins
