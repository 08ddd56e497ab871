#pragma once
// The libapt-pkg operations as the fronts of pkg-apt and pkg-url see them: the settings are
// theirs, every other call goes to backends/libsystemk-apt-backend.so, loaded (and its
// AptPackages made) by the first call that needs it. A node whose pods never name a Debian
// package never maps libapt-pkg.
#include <memory>
#include <mutex>

#include "apt_packages.h"
#include "systemk/plugin.h"

namespace pkg_apt {

inline constexpr char kAptBackendFile[] = "libsystemk-apt-backend.so";

class LazyApt final : public AptOperations {
public:
    // Also does, at once, what must not wait for the backend: DEBIAN_FRONTEND for maintainer
    // scripts (setenv only from init, before the plugin's other threads run) and putting back
    // an admin's policy-rc.d that a crash mid-transaction left aside.
    LazyApt(AptSettings settings, const systemk_host *host);

    Plan plan(const PackageRef &ref, bool upgrade, bool may_refresh) override { return backend().plan(ref, upgrade, may_refresh); }
    Plan plan_local(const PackageRef &ref, const std::string &deb) override { return backend().plan_local(ref, deb); }
    void install(const Plan &plan) override { backend().install(plan); }
    std::vector<std::string> files_of(const std::string &name, const std::string &arch) const override {
        return backend().files_of(name, arch);
    }
    std::string sha256_of_file(const std::string &path) const override { return backend().sha256_of_file(path); }
    std::string sha256_of_text(const std::string &text) const override { return backend().sha256_of_text(text); }
    const AptSettings &settings() const override { return settings_; }

private:
    AptOperations &backend() const;  // throws AptError

    AptSettings settings_;
    const systemk_host *host_;
    // The plugins' own mutex is held around every call already; this one makes the load safe
    // whatever the caller holds.
    mutable std::mutex load_mutex_;
    mutable std::unique_ptr<AptOperations> backend_;
    mutable bool load_error_logged_ = false;
};

}  // namespace pkg_apt
