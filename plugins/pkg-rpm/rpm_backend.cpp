// The backend of pkg-rpm (libsystemk-rpm-backend.so): the only part linked against librpm,
// loaded by the front on the first call that needs the rpmdb or a package file.
#include <type_traits>

#include "../pkg-native/lazy_library.h"
#include "rpm_library.h"

extern "C" __attribute__((visibility("default"))) pkg_native::PackageLibrary *systemk_backend_make(
    const std::string &root, const std::string &dbpath, const systemk_host *host) {
    try {
        return pkg_rpm::make_rpm_library(root, dbpath, host).release();
    } catch (const pkg_native::NativeError &e) {
        // A host without rpm's configuration (a Debian node without rpm-common): the front
        // then claims no bare names and refuses .rpm images with this reason.
        const auto why = std::string("RPM packages cannot be installed on this host: ") + e.what() +
                         " (install rpm's configuration, Debian's rpm-common)";
        pkg_native::log(host, SYSTEMK_LOG_INFO, why);
        throw pkg_native::NativeError(SYSTEMK_ERR_INVALID, why);
    }
}

// The front's factory type and this function must stay the same.
static_assert(std::is_same_v<decltype(&systemk_backend_make), pkg_native::NativeBackendFactory>);
