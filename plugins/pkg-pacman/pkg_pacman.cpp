// pkg-pacman: pacman packages through libalpm. Images: the name of a package installed in the
// configured root ("name" or "name:version"), an absolute path of a .pkg.tar.* file, or an
// https URL of one (optionally "#sha256=<hex>"), which it installs into that root with no
// install scriptlet and no hook run. Bare names are claimed only where the root has pacman's
// local database, below pkg-apt and pkg-rpm (see claim).
// This front never links libalpm: backends/libsystemk-alpm-backend.so does, loaded on first use.
#include <cstring>
#include <memory>
#include <string_view>

#include "../pkg-native/lazy_library.h"
#include "../pkg-native/native_image.h"
#include "../pkg-native/native_resolver.h"
#include "alpm_library.h"
#include "systemk/plugin.h"

namespace {

using namespace pkg_native;

constexpr size_t kMaxImage = 4096;

struct Instance {
    std::string root, dbpath;
    std::unique_ptr<NativeResolver> resolver;
};

// Files and URLs of .pkg.tar.* packages are unambiguously ours. A bare name is a pacman
// package only on a host with pacman's local database, and then at 30: below pkg-apt (50,
// where dpkg's database is) and pkg-rpm (40, where an rpmdb is), as the native database of a
// host that has several is more likely dpkg's or rpm's (Debian ships pacman as a tool).
int claim(void *instance, const char *image) noexcept {
    try {
        if (!image || !instance) return 0;
        const auto &inst = *static_cast<Instance *>(instance);
        const std::string_view s(image, strnlen(image, kMaxImage + 1));
        const auto ref = parse_native_image(s, &pkg_pacman::is_pacman_file);
        if (!ref) return 0;
        if (ref->kind != NativeImage::Name) return 100;
        return pkg_pacman::has_local_db(inst.root, inst.dbpath) ? 30 : 0;
    } catch (...) {
        return 0;
    }
}

systemk_status resolve(void *instance, const char *request_json, systemk_output *result, systemk_output *error) noexcept {
    return resolve_entry(instance ? static_cast<Instance *>(instance)->resolver.get() : nullptr, request_json, result, error);
}

systemk_status release(void *, const char *, systemk_output *) noexcept { return SYSTEMK_OK; }

systemk_status init(const systemk_host *host, void **instance, systemk_output *error) noexcept {
    return pkg_native::guarded(error, [&]() -> systemk_status {
        auto inst = std::make_unique<Instance>();
        auto settings = read_settings(host, "pkg-pacman");
        inst->root = settings.root;
        inst->dbpath = config(host, "dbpath", pkg_pacman::kDefaultDbPath);
        if (inst->dbpath.empty() || inst->dbpath[0] != '/') throw std::runtime_error("pkg-pacman.dbpath must be an absolute path inside the root");
        inst->resolver = std::make_unique<NativeResolver>(
            host, settings,
            std::make_unique<LazyLibrary>(LazyLibrarySpec{"pacman", &pkg_pacman::is_pacman_file, "libsystemk-alpm-backend.so",
                                                          inst->root, inst->dbpath, host}));
        *instance = inst.release();
        return SYSTEMK_OK;
    });
}

void fini(void *instance) noexcept { delete static_cast<Instance *>(instance); }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"name", "name:version", "/absolute/path/to/package.pkg.tar.zst",
                                "https://.../package.pkg.tar.zst[#sha256=<hex>]", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-pacman", "0.2.0", "pacman packages through libalpm: installed ones, and package files it installs without scriptlets",
    kHandles, &init, &fini, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
