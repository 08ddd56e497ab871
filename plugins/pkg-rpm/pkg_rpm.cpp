// pkg-rpm: RPM packages through librpm. Images: the name of a package installed in the
// configured root ("name" or "name:version"), an absolute path of a .rpm file, or an https
// URL of one (optionally "#sha256=<hex>"), which it installs into that root with no scriptlet
// run. Bare names are claimed only where the root has an rpmdb, below pkg-apt (see claim).
// This front never links librpm: backends/libsystemk-rpm-backend.so does, loaded on first use.
#include <cstring>
#include <memory>
#include <string_view>

#include "../pkg-native/lazy_library.h"
#include "../pkg-native/native_image.h"
#include "../pkg-native/native_resolver.h"
#include "rpm_library.h"
#include "systemk/plugin.h"

namespace {

using namespace pkg_native;

constexpr size_t kMaxImage = 4096;

struct Instance {
    std::string root, dbpath;
    LazyLibrary *library = nullptr;  // owned by resolver
    std::unique_ptr<NativeResolver> resolver;
};

bool is_rpm_file(std::string_view file) { return file.size() > 4 && file.ends_with(".rpm") && !file.ends_with(".src.rpm"); }

// Files and URLs of .rpm packages are unambiguously ours. A bare name is an RPM package only
// on a host with an rpmdb; pkg-apt claims names at 50 where dpkg's database is, so Debian keeps
// them even with Debian's rpm package installed; pkg-pacman claims below this. Only a host with
// an rpmdb loads librpm here: whether librpm can read its configuration decides the claim.
int claim(void *instance, const char *image) noexcept {
    try {
        if (!image || !instance) return 0;
        const auto &inst = *static_cast<Instance *>(instance);
        const std::string_view s(image, strnlen(image, kMaxImage + 1));
        const auto ref = parse_native_image(s, &is_rpm_file);
        if (!ref) return 0;
        if (ref->kind != NativeImage::Name) return 100;
        return pkg_rpm::has_rpmdb(inst.root, inst.dbpath) && inst.library->host_can_run() ? 40 : 0;
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
        auto settings = read_settings(host, "pkg-rpm");
        inst->root = settings.root;
        inst->dbpath = config(host, "dbpath", pkg_rpm::kDefaultDbPath);
        if (inst->dbpath.empty() || inst->dbpath[0] != '/') throw std::runtime_error("pkg-rpm.dbpath must be an absolute path inside the root");
        auto library = std::make_unique<LazyLibrary>(
            LazyLibrarySpec{"rpm", &is_rpm_file, "libsystemk-rpm-backend.so", inst->root, inst->dbpath, host});
        inst->library = library.get();
        inst->resolver = std::make_unique<NativeResolver>(host, settings, std::move(library));
        *instance = inst.release();
        return SYSTEMK_OK;
    });
}

void fini(void *instance) noexcept { delete static_cast<Instance *>(instance); }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"name", "name:version", "/absolute/path/to/package.rpm",
                                "https://.../package.rpm[#sha256=<hex>]", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-rpm", "0.2.0", "RPM packages through librpm: installed ones, and .rpm files it installs without scriptlets",
    kHandles, &init, &fini, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
