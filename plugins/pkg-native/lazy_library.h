#pragma once
// The package library of pkg-rpm and pkg-pacman as their front sees it: the name checks are
// the front's own, every database or package-file call goes to the backend shared object,
// loaded by the first such call (backend_loader.h).
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "native_resolver.h"

namespace pkg_native {

// What a native backend's systemk_backend_make is. It may throw NativeError (the host cannot
// run the library: the front then refuses every call with that error).
using NativeBackendFactory = PackageLibrary *(*)(const std::string &root, const std::string &dbpath,
                                                 const systemk_host *host);

struct LazyLibrarySpec {
    const char *manager;                         // "rpm", "pacman"
    bool (*is_package_file)(std::string_view);   // the front's own file-name check
    std::string backend_file;                    // e.g. "libsystemk-rpm-backend.so"
    std::string root, dbpath;
    const systemk_host *host = nullptr;
};

class LazyLibrary final : public PackageLibrary {
public:
    explicit LazyLibrary(LazyLibrarySpec spec) : spec_(std::move(spec)) {}
    const char *manager() const override { return spec_.manager; }
    bool is_package_file(std::string_view file_name) const override { return spec_.is_package_file(file_name); }
    std::optional<InstalledPackage> installed(const std::string &name) override { return backend().installed(name); }
    FileIdentity read_package_file(const std::string &path) override { return backend().read_package_file(path); }
    std::optional<FileIdentity> identity_from_file_name(std::string_view file_name) const override {
        return backend().identity_from_file_name(file_name);
    }
    bool version_matches(const std::string &installed, const std::string &wanted) const override {
        return backend().version_matches(installed, wanted);
    }
    void install(const std::string &path) override { backend().install(path); }
    std::string sha256_of_file(const std::string &path) const override { return backend().sha256_of_file(path); }

    // Loads the backend if needed; false only when its factory said this host cannot run the
    // library (pkg-rpm on a host without rpm's configuration). A backend file that cannot be
    // loaded is not the host's verdict: calls report it, as a clear error, each time.
    bool host_can_run();

private:
    PackageLibrary &backend() const;  // throws NativeError

    LazyLibrarySpec spec_;
    // Its own lock (the resolver's is not held by claim): loading happens once.
    mutable std::mutex load_mutex_;
    mutable std::unique_ptr<PackageLibrary> backend_;
    mutable std::optional<NativeError> refused_;  // the factory's verdict, kept
    mutable bool load_error_logged_ = false;      // a broken backend file is logged once
};

}  // namespace pkg_native
