#pragma once
// Debian packages through libapt-pkg: the package cache, Debian version comparison and
// installing with dependencies (download, then dpkg), without apt-get and without a shell.
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

class AptPackages {
public:
    explicit AptPackages(AptSettings settings);

    // Decides which version `ref` gets. `upgrade` (imagePullPolicy Always) moves an installed
    // package to its candidate. An unknown name or version refreshes the package lists first
    // when `may_refresh` and the last refresh is older than the interval. Throws AptError.
    Plan plan(const PackageRef &ref, bool upgrade, bool may_refresh);

    // The same for a local .deb file that provides ref.name ref.version (never refreshes).
    Plan plan_local(const PackageRef &ref, const std::string &deb);

    // Installs plan.target with its dependencies, non-interactively. Nothing is removed: a
    // transaction that would remove a package is refused. Throws AptError.
    void install(const Plan &plan);

    // The files dpkg lists for an installed package.
    std::vector<std::string> files_of(const std::string &name, const std::string &arch) const;

    const AptSettings &settings() const { return settings_; }

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
