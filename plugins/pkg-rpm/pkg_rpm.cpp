// pkg-rpm: package names on RPM-based hosts. It claims bare names only where the host has an
// RPM database and no dpkg one, so on Debian pkg-apt keeps them. Installing through librpm comes
// with the resolver-plugins milestone and is reported as unsupported until then.
#include <sys/stat.h>

#include <cstring>
#include <string_view>

#include "systemk/plugin.h"

namespace {

bool exists(const char *path) {
    struct stat st {};
    return stat(path, &st) == 0;
}

// The host refuses longer images before asking; the plugin does not rely on that.
constexpr size_t kMaxImage = 4096;

int claim(void *, const char *image) noexcept {
    if (!image) return 0;
    const std::string_view s(image, strnlen(image, kMaxImage + 1));
    if (s.empty() || s.size() > kMaxImage || s[0] == '/' || s.find("://") != std::string_view::npos) return 0;
    return (exists("/var/lib/rpm") && !exists("/var/lib/dpkg/status")) ? 60 : 0;
}

systemk_status resolve(void *, const char *, systemk_output *, systemk_output *error) noexcept {
    systemk_output_puts(error, "installing RPM packages is not supported by this version of pkg-rpm");
    return SYSTEMK_ERR_UNSUPPORTED;
}

systemk_status release(void *, const char *, systemk_output *) noexcept { return SYSTEMK_OK; }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"name", "name:version", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-rpm", "0.1.0", "RPM packages (hosts with an RPM database)",
    kHandles, nullptr, nullptr, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
