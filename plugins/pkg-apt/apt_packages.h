#pragma once
// Debian packages through libapt-pkg: the package cache, Debian version comparison and
// installing with dependencies (download, then dpkg), without apt-get and without a shell.
// This header names no libapt-pkg type: the fronts include it too.
// Not thread-safe: the caller runs one call at a time (libapt-pkg's configuration, cache and
// dpkg's lock are process-wide anyway).
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "package_choice.h"

namespace pkg_apt {

struct AptError : std::runtime_error {
    enum Kind { NotFound, Transient, Failed };
    AptError(Kind k, const std::string &message) : std::runtime_error(message), kind(k) {}
    Kind kind;
};

struct AptSettings {
    std::string admindir;  // dpkg's database; empty: the system's
    std::string root = "/";  // where the packages' files are (tests point it at a fixture tree)
    // At most one list refresh per interval, unless the sources changed meanwhile.
    std::chrono::seconds refresh_interval{300};
};

// What a request means on this host right now.
struct Plan {
    std::string name, arch;
    std::string installed;    // installed version, empty if none
    std::string target;       // the version the pod gets
    bool needs_install = false;  // target is not the installed version
    std::string local_deb;       // a downloaded .deb that provides target (pkg-url)
};

// What pkg-apt and pkg-url do with libapt-pkg. Their fronts hold a LazyApt (lazy_apt.h), which
// loads the backend shared object that implements this on the first call needing it.
class AptOperations {
public:
    virtual ~AptOperations() = default;

    // Decides which version `ref` gets. `upgrade` (imagePullPolicy Always) moves an installed
    // package to its candidate. An unknown name or version refreshes the package lists first
    // when `may_refresh` and the last refresh is older than the interval. Throws AptError.
    virtual Plan plan(const PackageRef &ref, bool upgrade, bool may_refresh) = 0;

    // The same for a local .deb file that provides ref.name ref.version (never refreshes).
    virtual Plan plan_local(const PackageRef &ref, const std::string &deb) = 0;

    // Installs plan.target with its dependencies, non-interactively. Nothing is removed: a
    // transaction that would remove a package is refused. Throws AptError.
    virtual void install(const Plan &plan) = 0;

    // The files dpkg lists for an installed package.
    virtual std::vector<std::string> files_of(const std::string &name, const std::string &arch) const = 0;

    // SHA-256 (lower-case hex) of a file (throws AptError) and of a text: pkg-url's pins and
    // cache names, with apt's own hashing.
    virtual std::string sha256_of_file(const std::string &path) const = 0;
    virtual std::string sha256_of_text(const std::string &text) const = 0;

    virtual const AptSettings &settings() const = 0;
};

// What the backend's systemk_backend_make is (it may throw AptError).
using AptBackendFactory = AptOperations *(*)(const AptSettings &settings);

// The implementation, in the backend only (it alone links libapt-pkg).
class AptPackages final : public AptOperations {
public:
    explicit AptPackages(AptSettings settings);
    Plan plan(const PackageRef &ref, bool upgrade, bool may_refresh) override;
    Plan plan_local(const PackageRef &ref, const std::string &deb) override;
    void install(const Plan &plan) override;
    std::vector<std::string> files_of(const std::string &name, const std::string &arch) const override;
    std::string sha256_of_file(const std::string &path) const override;
    std::string sha256_of_text(const std::string &text) const override;
    const AptSettings &settings() const override { return settings_; }

private:
    Plan plan_once(const PackageRef &ref, bool upgrade, const std::string &deb = "");
    void refresh_lists();
    std::string sources_stamp() const;  // when the lists of sources last changed

    AptSettings settings_;
    std::chrono::steady_clock::time_point last_refresh_{};
    bool refreshed_ = false;
    std::string sources_stamp_;
};

}  // namespace pkg_apt
