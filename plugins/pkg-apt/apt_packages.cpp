#include "apt_packages.h"

#include <apt-pkg/acquire-item.h>
#include <apt-pkg/acquire.h>
#include <apt-pkg/algorithms.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/error.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/hashes.h>
#include <apt-pkg/init.h>
#include <apt-pkg/install-progress.h>
#include <apt-pkg/packagemanager.h>
#include <apt-pkg/pkgcache.h>
#include <apt-pkg/pkgrecords.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/policy.h>
#include <apt-pkg/progress.h>
#include <apt-pkg/sourcelist.h>
#include <apt-pkg/update.h>
#include <apt-pkg/version.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <type_traits>

#include "start_policy.h"

namespace pkg_apt {
namespace {

constexpr char kTransactionLock[] = "/run/lock/systemk-package-transaction.lock";

// No terminal, no questions: downloads and dpkg report only through their results.
class QuietAcquireStatus : public pkgAcquireStatus {
public:
    bool MediaChange(std::string, std::string) override { return false; }
};

// libapt-pkg's queued messages as one line (the pod's status and Events show it).
std::string take_errors() {
    std::string out;
    while (!_error->empty()) {
        std::string message;
        const bool is_error = _error->PopMessage(message);
        if (!is_error || message.empty()) continue;
        for (auto &c : message)
            if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (!out.empty()) out += "; ";
        out += message;
    }
    return out;
}

[[noreturn]] void fail(AptError::Kind kind, const std::string &what) {
    const auto detail = take_errors();
    throw AptError(kind, detail.empty() ? what : what + ": " + detail);
}

int compare(const std::string &a, const std::string &b) { return _system->VS->CmpVersion(a, b); }

struct OpenCache {
    pkgCacheFile file;
    OpProgress progress;  // silent
    explicit OpenCache(bool lock, const std::string &deb = "") {
        _error->Discard();
        if (!deb.empty() && (!file.BuildSourceList(&progress) || !file.GetSourceList()->AddVolatileFile(deb)))
            fail(AptError::Failed, "cannot read the package file " + deb);
        if (!file.Open(&progress, lock))
            fail(lock ? AptError::Transient : AptError::Failed,
                 lock ? "cannot open the package cache with dpkg's lock (another package manager running?)"
                      : "cannot open the package cache");
    }
    pkgCache &cache() { return *file.GetPkgCache(); }
};

pkgCache::VerIterator find_version(pkgCache::PkgIterator pkg, const std::string &version) {
    for (auto ver = pkg.VersionList(); !ver.end(); ++ver)
        if (compare(ver.VerStr(), version) == 0) return ver;
    return pkgCache::VerIterator();
}

// libapt-pkg's iterators declare a non-const operator== beside operator!=, which C++20 (and
// clang's -Wambiguous-reversed-operator) finds ambiguous: compare their positions instead.
bool same_version(const pkgCache::VerIterator &a, const pkgCache::VerIterator &b) {
    return a.MapPointer() == b.MapPointer();
}

std::string available_versions(pkgCache::PkgIterator pkg) {
    std::string out;
    for (auto ver = pkg.VersionList(); !ver.end(); ++ver) {
        if (!ver.Downloadable() && !same_version(pkg.CurrentVer(), ver)) continue;
        if (!out.empty()) out += ", ";
        out += ver.VerStr();
    }
    return out.empty() ? "none" : out;
}

}  // namespace

std::string AptPackages::sources_stamp() const {
    std::string stamp;
    for (const auto &path : {_config->FindFile("Dir::Etc::sourcelist"), _config->FindDir("Dir::Etc::sourceparts")}) {
        struct stat st {};
        if (stat(path.c_str(), &st) == 0)
            stamp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
    }
    return stamp;
}

AptPackages::AptPackages(AptSettings settings) : settings_(std::move(settings)) {
    _error->Discard();
    if (!pkgInitConfig(*_config)) fail(AptError::Failed, "cannot read apt's configuration");
    if (!settings_.admindir.empty() && settings_.admindir != "/var/lib/dpkg") {
        // A separate dpkg database (tests, render against a fixture): only what it holds, and
        // nothing written to the system's caches.
        _config->Set("Dir::State::status", settings_.admindir + "/status");
        _config->Set("Dir::State::extended_states", settings_.admindir + "/extended_states");
        _config->Set("Dir::Etc::sourcelist", "/dev/null");
        _config->Set("Dir::Etc::sourceparts", settings_.admindir + "/no-sources.d");
        _config->Set("Dir::Cache::pkgcache", "");
        _config->Set("Dir::Cache::srcpkgcache", "");
    }
    // dpkg is never interactive here: keep changed configuration files, take defaults, no pty.
    _config->Set("DPkg::Options::", "--force-confdef");
    _config->Set("DPkg::Options::", "--force-confold");
    _config->Set("Dpkg::Use-Pty", "false");
    _config->Set("DPkg::Progress-Fancy", "false");
    // A pod gets the package and what it depends on, not what it merely recommends.
    _config->Set("APT::Install-Recommends", "false");
    // DEBIAN_FRONTEND=noninteractive and the recovery of policy-rc.d are the front's, at init
    // (LazyApt): this runs later, on a worker thread, where setenv would race other threads.
    if (!pkgInitSystem(*_config, _system)) fail(AptError::Failed, "cannot initialise apt's view of dpkg");
}

Plan AptPackages::plan(const PackageRef &ref, bool upgrade, bool may_refresh) {
    try {
        return plan_once(ref, upgrade);
    } catch (const AptError &e) {
        if (e.kind != AptError::NotFound || !may_refresh) throw;
        const auto now = std::chrono::steady_clock::now();
        // Rate-limited, except that a changed list of sources (a repository just added) is worth a look.
        if (refreshed_ && now - last_refresh_ < settings_.refresh_interval && sources_stamp() == sources_stamp_) throw;
        refresh_lists();
        return plan_once(ref, upgrade);
    }
}

Plan AptPackages::plan_local(const PackageRef &ref, const std::string &deb) {
    auto plan = plan_once(ref, false, deb);
    plan.local_deb = deb;
    return plan;
}

Plan AptPackages::plan_once(const PackageRef &ref, bool upgrade, const std::string &deb) {
    OpenCache open(false, deb);
    auto pkg = open.cache().FindPkg(ref.name);
    if (pkg.end() || pkg.VersionList().end())
        throw AptError(AptError::NotFound, "package " + ref.name + " is not known to apt on this node");
    Plan plan;
    plan.name = pkg.Name();
    plan.arch = pkg.Arch();
    const auto current = pkg.CurrentVer();
    if (!current.end()) plan.installed = current.VerStr();
    if (!ref.version.empty()) {
        const auto ver = find_version(pkg, ref.version);
        if (ver.end() || (!ver.Downloadable() && !same_version(ver, current)))
            throw AptError(AptError::NotFound, "package " + ref.name + " has no version " + ref.version +
                                                   " (available: " + available_versions(pkg) + ")");
        plan.target = ver.VerStr();
    } else {
        const auto candidate = open.file.GetPolicy()->GetCandidateVer(pkg);
        if (!current.end() && (!upgrade || candidate.end() || compare(candidate.VerStr(), current.VerStr()) <= 0))
            plan.target = plan.installed;
        else if (!candidate.end() && candidate.Downloadable())
            plan.target = candidate.VerStr();
        else
            throw AptError(AptError::NotFound, "package " + ref.name + " has no installable version on this node");
    }
    plan.needs_install = plan.installed.empty() || compare(plan.installed, plan.target) != 0;
    return plan;
}

void AptPackages::refresh_lists() {
    refreshed_ = true;
    sources_stamp_ = sources_stamp();
    last_refresh_ = std::chrono::steady_clock::now();
    _error->Discard();
    pkgSourceList sources;
    if (!sources.ReadMainList()) fail(AptError::Failed, "cannot read apt's sources");
    QuietAcquireStatus status;
    // A failed refresh still leaves the old lists usable; what matters is the second look.
    if (!ListUpdate(status, sources)) take_errors();
}

void AptPackages::install(const Plan &plan) {
    // dpkg's own locks are fcntl locks, which do not exclude threads of one process: pkg-apt
    // and pkg-url (both in systemk) take this one first.
    const int lock_fd = ::open(kTransactionLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        if (lock_fd >= 0) close(lock_fd);
        throw AptError(AptError::Transient, std::string("cannot take ") + kTransactionLock + ": " + std::strerror(errno));
    }
    struct Unlock {
        int fd;
        ~Unlock() { close(fd); }
    } unlock{lock_fd};
    OpenCache open(true, plan.local_deb);
    auto *deps = open.file.GetDepCache();
    auto pkg = open.cache().FindPkg(plan.name, plan.arch);
    if (pkg.end()) throw AptError(AptError::NotFound, "package " + plan.name + " is no longer known to apt");
    const auto ver = find_version(pkg, plan.target);
    if (ver.end()) throw AptError(AptError::NotFound, "package " + plan.name + " has no version " + plan.target + " any more");
    {
        pkgDepCache::ActionGroup group(*deps);
        deps->SetCandidateVersion(ver);
        deps->MarkInstall(pkg, true, 0, true);
    }
    if (deps->BrokenCount() != 0) {
        pkgProblemResolver resolver(deps);
        resolver.Protect(pkg);
        resolver.Resolve(true);
    }
    if (deps->BrokenCount() != 0) fail(AptError::Failed, "installing " + plan.name + " " + plan.target + " has unmet dependencies");
    if (deps->DelCount() != 0) {
        std::string removed;
        for (auto p = open.cache().PkgBegin(); !p.end(); ++p)
            if ((*deps)[p].Delete()) removed += (removed.empty() ? "" : ", ") + std::string(p.Name());
        throw AptError(AptError::Failed, "installing " + plan.name + " " + plan.target + " would remove " + removed + "; refused");
    }

    QuietAcquireStatus status;
    pkgAcquire fetcher(&status);
    if (!fetcher.GetLock(_config->FindDir("Dir::Cache::Archives")))
        fail(AptError::Transient, "cannot lock apt's download directory");
    pkgRecords records(*deps);
    std::unique_ptr<pkgPackageManager> manager(_system->CreatePM(deps));
    if (!manager->GetArchives(&fetcher, open.file.GetSourceList(), &records))
        fail(AptError::Failed, "cannot find the archives of " + plan.name + " " + plan.target);
    fetcher.Run();
    for (auto item = fetcher.ItemsBegin(); item != fetcher.ItemsEnd(); ++item) {
        if ((*item)->Status == pkgAcquire::Item::StatDone && (*item)->Complete) continue;
        throw AptError(AptError::Transient, "downloading " + (*item)->DescURI() + " failed: " + (*item)->ErrorText);
    }
    if (_error->PendingError()) fail(AptError::Transient, "downloading " + plan.name + " failed");

    StartsForbidden no_starts(settings_.root);
    _system->UnLockInner();  // dpkg takes its own lock; ours on the frontend stays held
    APT::Progress::PackageManager progress;  // silent
    const auto result = manager->DoInstall(&progress);
    _system->LockInner();
    if (result != pkgPackageManager::Completed)
        fail(AptError::Failed, "dpkg could not install " + plan.name + " " + plan.target);
}

std::vector<std::string> AptPackages::files_of(const std::string &name, const std::string &arch) const {
    const auto admindir = settings_.admindir.empty() ? std::string("/var/lib/dpkg") : settings_.admindir;
    std::vector<std::string> files;
    for (const auto &list : {admindir + "/info/" + name + ".list", admindir + "/info/" + name + ":" + arch + ".list"}) {
        std::ifstream in(list);
        std::string line;
        while (std::getline(in, line)) files.push_back(line);
        if (!files.empty()) break;
    }
    return files;
}

std::string AptPackages::sha256_of_text(const std::string &text) const {
    Hashes h(Hashes::SHA256SUM);
    h.Add(text.c_str());
    return h.GetHashString(Hashes::SHA256SUM).HashValue();
}

std::string AptPackages::sha256_of_file(const std::string &path) const {
    FileFd fd(path, FileFd::ReadOnly);
    Hashes h(Hashes::SHA256SUM);
    if (!fd.IsOpen() || !h.AddFD(fd)) throw AptError(AptError::Failed, "cannot read " + path);
    return h.GetHashString(Hashes::SHA256SUM).HashValue();
}

}  // namespace pkg_apt

// The backend's one exported symbol (libsystemk-apt-backend.so, shared by pkg-apt and pkg-url).
extern "C" __attribute__((visibility("default"))) pkg_apt::AptOperations *systemk_backend_make(
    const pkg_apt::AptSettings &settings) {
    return new pkg_apt::AptPackages(settings);
}
static_assert(std::is_same_v<decltype(&systemk_backend_make), pkg_apt::AptBackendFactory>);
