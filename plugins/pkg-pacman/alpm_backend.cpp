// The backend of pkg-pacman (libsystemk-alpm-backend.so): the only part linked against
// libalpm, loaded by the front on the first call that needs the database or a package file.
#include <type_traits>

#include "../pkg-native/lazy_library.h"
#include "alpm_library.h"

extern "C" __attribute__((visibility("default"))) pkg_native::PackageLibrary *systemk_backend_make(
    const std::string &root, const std::string &dbpath, const systemk_host *host) {
    return pkg_pacman::make_alpm_library(root, dbpath, host).release();
}

// The front's factory type and this function must stay the same.
static_assert(std::is_same_v<decltype(&systemk_backend_make), pkg_native::NativeBackendFactory>);
