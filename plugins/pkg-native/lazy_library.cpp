#include "lazy_library.h"

#include "backend_loader.h"

namespace pkg_native {

PackageLibrary &LazyLibrary::backend() const {
    std::lock_guard lock(load_mutex_);
    if (backend_) return *backend_;
    if (refused_) throw *refused_;
    void *factory = nullptr;
    try {
        factory = load_backend_factory(backend_path(spec_.backend_file));
    } catch (const BackendLoadError &e) {
        if (!load_error_logged_) log(spec_.host, SYSTEMK_LOG_ERROR, e.what());
        load_error_logged_ = true;
        throw NativeError(SYSTEMK_ERR_INTERNAL, e.what());
    }
    try {
        backend_.reset(reinterpret_cast<NativeBackendFactory>(factory)(spec_.root, spec_.dbpath, spec_.host));
    } catch (const NativeError &e) {
        refused_ = e;
        throw;
    }
    if (!backend_) throw NativeError(SYSTEMK_ERR_INTERNAL, spec_.backend_file + " made no library");
    return *backend_;
}

bool LazyLibrary::host_can_run() {
    try {
        backend();
        return true;
    } catch (const NativeError &) {
        std::lock_guard lock(load_mutex_);
        return !refused_;
    }
}

}  // namespace pkg_native
