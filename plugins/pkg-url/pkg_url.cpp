// pkg-url: images that are https:// URLs of a .deb named <name>_<version>_<arch>.deb, with an
// optional "#sha256=<hex>" pin. The file is downloaded through the host's fetch service (its
// TLS and CA settings), checked against the pin before anything is installed, kept in a cache
// keyed by URL and digest, and installed with its dependencies through libapt-pkg, as pkg-apt
// installs (the same code: the package's daemon kept from starting, its own units masked).
// Like pkg-apt's, this front never links libapt-pkg: it loads the same backend on first use.
#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "../pkg-apt/apt_packages.h"
#include "../pkg-apt/lazy_apt.h"
#include "../pkg-apt/package_result.h"
#include "deb_url.h"
#include "../pkg-native/plugin_glue.h"
#include "systemk/plugin.h"

namespace {

namespace json = boost::json;
using namespace pkg_apt;
using pkg_url::DebUrl;

// The host refuses longer images before asking; the plugin does not rely on that.
constexpr size_t kMaxImage = 4096;

struct Instance {
    const systemk_host *host = nullptr;
    std::unique_ptr<LazyApt> apt;
    std::string cache_dir;  // downloaded packages, by URL and digest
    std::string state_dir;  // which packages systemk installed
    std::mutex mutex;
};

using pkg_native::config;
using pkg_native::printable;

void log(const Instance &inst, systemk_log_level level, const std::string &message) {
    if (inst.host && inst.host->log) inst.host->log(inst.host->ctx, level, message.c_str());
}

bool is_deb_url(std::string_view s) {
    const auto path = s.substr(0, s.find('#'));
    return path.ends_with(".deb") && (s.starts_with("https://") || s.starts_with("http://"));
}

int claim(void *, const char *image) noexcept {
    if (!image) return 0;
    const std::string_view s(image, strnlen(image, kMaxImage + 1));
    return s.size() <= kMaxImage && is_deb_url(s) ? 100 : 0;
}

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
}

// A .deb is an ar archive: anything else (an error page served with 200) is refused early.
bool is_ar_archive(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    char magic[8] = {};
    return in.read(magic, sizeof magic) && std::string_view(magic, sizeof magic) == "!<arch>\n";
}

// The package file for `deb`: from the cache when it is there (and matches the pin), else
// downloaded through the host and checked against the pin before it is kept.
std::string fetch_package(Instance &inst, const DebUrl &deb) {
    std::error_code ec;
    std::filesystem::create_directories(inst.cache_dir, ec);
    if (ec) throw AptError(AptError::Failed, "cannot create " + inst.cache_dir + ": " + ec.message());
    const auto path = inst.cache_dir + "/" + inst.apt->sha256_of_text(deb.url) + "-" + (deb.sha256.empty() ? "unpinned" : deb.sha256) +
                      "_" + deb.arch + ".deb";
    if (access(path.c_str(), R_OK) == 0 && (deb.sha256.empty() || inst.apt->sha256_of_file(path) == deb.sha256)) return path;
    const auto partial = path + ".partial";
    std::string fetch_error;
    systemk_output err{sizeof(systemk_output), &fetch_error,
                       [](void *ctx, const char *d, size_t n) { static_cast<std::string *>(ctx)->append(d, n); }};
    if (!inst.host || !inst.host->fetch) throw AptError(AptError::Failed, "the host offers no fetch service");
    if (inst.host->fetch(inst.host->ctx, deb.url.c_str(), partial.c_str(), &err) != SYSTEMK_OK) {
        unlink(partial.c_str());
        throw AptError(AptError::Transient, fetch_error.empty() ? "downloading " + deb.url + " failed" : fetch_error);
    }
    if (!deb.sha256.empty()) {
        const auto got = inst.apt->sha256_of_file(partial);
        if (got != deb.sha256) {
            unlink(partial.c_str());
            throw AptError(AptError::Failed, "the sha256 of " + deb.url + " is " + got + ", not the pinned " + deb.sha256 +
                                                 ": nothing was installed");
        }
    }
    if (!is_ar_archive(partial)) {
        unlink(partial.c_str());
        throw AptError(AptError::Failed, "what " + deb.url + " served is not a Debian package: nothing was installed");
    }
    if (rename(partial.c_str(), path.c_str()) != 0) {
        unlink(partial.c_str());
        throw AptError(AptError::Failed, "cannot keep " + path + ": " + std::strerror(errno));
    }
    return path;
}

bool has_command(const json::object &request) {
    const auto *container = request.if_contains("container");
    if (!container || !container->is_object()) return false;
    const auto *command = container->get_object().if_contains("command");
    return command && command->is_array() && !command->get_array().empty();
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
        if (image.starts_with("http://"))
            return fail(error, SYSTEMK_ERR_INVALID, "'" + printable(image) + "': plain http:// is refused, packages are fetched over https only");
        const auto deb = pkg_url::parse_deb_url(image);
        if (!deb)
            return fail(error, SYSTEMK_ERR_INVALID, "'" + printable(image) +
                                                        "' is not an https URL of a file named name_version_arch.deb "
                                                        "(optionally followed by #sha256=<64 hex digits>)");
        // A dry run never waits for a transaction in progress: the host then knows the real
        // call would wait (and runs it where waiting blocks nothing else).
        std::unique_lock lock(inst.mutex, std::defer_lock);
        if (!dry_run)
            lock.lock();
        else if (!lock.try_lock())
            return fail(error, SYSTEMK_ERR_TRANSIENT, "another package transaction is running");
        const PackageRef ref{deb->name, deb->version};
        if (dry_run) {
            // Without downloading: present when exactly this version is installed.
            Plan plan;
            try {
                plan = inst.apt->plan(ref, false, false);
            } catch (const AptError &e) {
                if (e.kind != AptError::NotFound) throw;
                plan.name = deb->name;
                plan.target = deb->version;
                plan.needs_install = true;
            }
            const auto outcome = describe_dry_run(*inst.apt, plan, inst.state_dir);
            systemk_output_puts(result, outcome.json.c_str());
            return SYSTEMK_OK;
        }
        const auto file = fetch_package(inst, *deb);
        const auto plan = inst.apt->plan_local(ref, file);
        const auto outcome = install_and_describe(*inst.apt, plan, inst.state_dir, has_command(request),
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
        inst->cache_dir = config(host, "cache-dir", "/var/cache/systemk/pkg-url");
        inst->state_dir = config(host, "state-dir", "/var/lib/systemk/pkg-apt");
        inst->apt = std::make_unique<LazyApt>(settings, host);
        *instance = inst.release();
        return SYSTEMK_OK;
    });
}

void fini(void *instance) noexcept { delete static_cast<Instance *>(instance); }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"https://.../name_version_arch.deb[#sha256=<hex>]", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-url", "0.2.0", "Debian packages downloaded from an https URL (pinned by sha256), installed through libapt-pkg",
    kHandles, &init, &fini, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
