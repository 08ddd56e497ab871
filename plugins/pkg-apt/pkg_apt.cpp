// pkg-apt: images that are Debian package names, "name" or "name:version". The package is
// found and installed through libapt-pkg (with its dependencies, its daemon kept from starting
// during the transaction), and its own service unit is handed to the host. This front never
// links libapt-pkg: backends/libsystemk-apt-backend.so does, loaded on the first resolve.
#include <boost/json.hpp>
#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "apt_packages.h"
#include "lazy_apt.h"
#include "package_choice.h"
#include "package_result.h"
#include "../pkg-native/plugin_glue.h"
#include "systemk/plugin.h"

namespace {

namespace json = boost::json;
using namespace pkg_apt;

// The host refuses longer images before asking; the plugin does not rely on that.
constexpr size_t kMaxImage = 4096;

struct Instance {
    const systemk_host *host = nullptr;
    std::unique_ptr<LazyApt> apt;
    std::string state_dir;  // remembers which packages systemk installed
    std::mutex mutex;       // libapt-pkg is process-wide state
};

using pkg_native::config;

void log(const Instance &inst, systemk_log_level level, const std::string &message) {
    if (inst.host && inst.host->log) inst.host->log(inst.host->ctx, level, message.c_str());
}

// A bare name is a Debian package only where dpkg's database is; then at 50, above pkg-rpm (40)
// and pkg-pacman (30), which Debian ships as tools with databases of their own.
int claim(void *instance, const char *image) noexcept {
    if (!image || !instance) return 0;
    try {
        const auto &settings = static_cast<Instance *>(instance)->apt->settings();
        const auto status = (settings.admindir.empty() ? std::string("/var/lib/dpkg") : settings.admindir) + "/status";
        struct stat st {};
        if (stat(status.c_str(), &st) != 0) return 0;
        return parse_package(std::string_view(image, strnlen(image, kMaxImage + 1))) ? 50 : 0;
    } catch (...) {
        return 0;
    }
}

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
}

bool has_command(const json::object &request) {
    const auto *container = request.if_contains("container");
    if (!container || !container->is_object()) return false;
    const auto *command = container->get_object().if_contains("command");
    return command && command->is_array() && !command->get_array().empty();
}

std::string pull_policy(const json::object &request) {
    const auto *container = request.if_contains("container");
    if (!container || !container->is_object()) return "IfNotPresent";
    const auto *policy = container->get_object().if_contains("imagePullPolicy");
    return policy && policy->is_string() ? std::string(policy->get_string()) : "IfNotPresent";
}

systemk_status status_of(const AptError &e) {
    switch (e.kind) {
        case AptError::NotFound: return SYSTEMK_ERR_NOT_FOUND;
        case AptError::Transient: return SYSTEMK_ERR_TRANSIENT;
        default: return SYSTEMK_ERR_INTERNAL;
    }
}

systemk_status resolve(void *instance, const char *request_json, systemk_output *result, systemk_output *error) noexcept {
    try {
        auto &inst = *static_cast<Instance *>(instance);
        const auto request = json::parse(request_json).as_object();
        const std::string image(request.at("image").as_string());
        const bool dry_run = request.contains("dryRun") && request.at("dryRun").as_bool();
        if (image.size() > kMaxImage)
            return fail(error, SYSTEMK_ERR_INVALID, "the image is longer than " + std::to_string(kMaxImage) + " bytes");
        const auto ref = parse_package(image);
        if (!ref) return fail(error, SYSTEMK_ERR_INVALID, "'" + printable(image) + "' is not a Debian package name");
        const auto policy = pull_policy(request);
        // A dry run never waits for a transaction in progress: the host then knows the real
        // call would wait (and runs it where waiting blocks nothing else).
        std::unique_lock lock(inst.mutex, std::defer_lock);
        if (!dry_run)
            lock.lock();
        else if (!lock.try_lock())
            return fail(error, SYSTEMK_ERR_TRANSIENT, "another package transaction is running");
        const auto plan = inst.apt->plan(*ref, policy == "Always", !dry_run && policy != "Never");
        if (plan.needs_install && !dry_run && policy == "Never")
            return fail(error, SYSTEMK_ERR_NOT_FOUND,
                        "package " + plan.name + " " + plan.target + " is not installed and imagePullPolicy is Never");
        const auto outcome = dry_run ? describe_dry_run(*inst.apt, plan, inst.state_dir)
                                     : install_and_describe(*inst.apt, plan, inst.state_dir, has_command(request),
                                                            [&inst](bool warning, const std::string &m) {
                                                                log(inst, warning ? SYSTEMK_LOG_WARN : SYSTEMK_LOG_INFO, m);
                                                            });
        if (!outcome.error.empty()) return fail(error, SYSTEMK_ERR_INVALID, outcome.error);
        systemk_output_puts(result, outcome.json.c_str());
        return SYSTEMK_OK;
    } catch (const AptError &e) {
        return fail(error, status_of(e), e.what());
    } catch (const std::exception &e) {
        return fail(error, SYSTEMK_ERR_INVALID, std::string("bad request: ") + e.what());
    } catch (...) {
        return fail(error, SYSTEMK_ERR_INTERNAL, "unexpected failure");
    }
}

systemk_status release(void *, const char *, systemk_output *) noexcept { return SYSTEMK_OK; }

systemk_status init(const systemk_host *host, void **instance, systemk_output *error) noexcept {
    return pkg_native::guarded(error, [&]() -> systemk_status {
        auto inst = std::make_unique<Instance>();
        inst->host = host;
        AptSettings settings;
        settings.admindir = config(host, "admindir", "");
        settings.root = config(host, "root", "/");
        if (settings.root.empty()) settings.root = "/";
        const auto interval = config(host, "refresh-interval", "300");
        settings.refresh_interval = std::chrono::seconds(std::stoul(interval));
        inst->state_dir = config(host, "state-dir", "/var/lib/systemk/pkg-apt");
        inst->apt = std::make_unique<LazyApt>(settings, host);
        *instance = inst.release();
        return SYSTEMK_OK;
    });
}

void fini(void *instance) noexcept { delete static_cast<Instance *>(instance); }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"name", "name:version", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-apt", "0.2.0", "Debian packages through libapt-pkg: installs them and uses their own service unit",
    kHandles, &init, &fini, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
