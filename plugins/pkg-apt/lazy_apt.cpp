#include "lazy_apt.h"

#include <cstdlib>

#include "../pkg-native/backend_loader.h"
#include "start_policy.h"

namespace pkg_apt {

LazyApt::LazyApt(AptSettings settings, const systemk_host *host) : settings_(std::move(settings)), host_(host) {
    setenv("DEBIAN_FRONTEND", "noninteractive", 1);
    StartsForbidden::recover(settings_.root);
}

AptOperations &LazyApt::backend() const {
    std::lock_guard lock(load_mutex_);
    if (backend_) return *backend_;
    void *factory = nullptr;
    try {
        factory = pkg_native::load_backend_factory(pkg_native::backend_path(kAptBackendFile));
    } catch (const pkg_native::BackendLoadError &e) {
        if (!load_error_logged_ && host_ && host_->log) host_->log(host_->ctx, SYSTEMK_LOG_ERROR, e.what());
        load_error_logged_ = true;
        throw AptError(AptError::Failed, e.what());
    }
    backend_.reset(reinterpret_cast<AptBackendFactory>(factory)(settings_));
    if (!backend_) throw AptError(AptError::Failed, std::string(kAptBackendFile) + " made nothing");
    return *backend_;
}

}  // namespace pkg_apt
