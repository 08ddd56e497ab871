#pragma once
// The resolve call of pkg-rpm and pkg-pacman: both answer from the package database under a
// configured root, and install package files (local, or downloaded over https and pinned)
// with their library, one transaction at a time. Only the library calls differ.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "native_common.h"

namespace pkg_native {

struct InstalledPackage {
    std::string version;
    std::vector<std::string> files;  // absolute, as the database lists them
};

struct FileIdentity {
    std::string name, version;
};

// One package manager's library. Calls never overlap (NativeResolver holds its lock).
class PackageLibrary {
public:
    virtual ~PackageLibrary() = default;
    virtual const char *manager() const = 0;           // "rpm", "pacman": for messages
    virtual bool is_package_file(std::string_view file_name) const = 0;
    virtual std::optional<InstalledPackage> installed(const std::string &name) = 0;
    virtual FileIdentity read_package_file(const std::string &path) = 0;  // throws NativeError
    // name-version... from a package file's conventional name, without reading it (dry runs of URLs)
    virtual std::optional<FileIdentity> identity_from_file_name(std::string_view file_name) const = 0;
    virtual bool version_matches(const std::string &installed, const std::string &wanted) const = 0;
    virtual void install(const std::string &path) = 0;  // throws NativeError; nothing left half-done
    virtual std::string sha256_of_file(const std::string &path) const = 0;
};

struct NativeSettings {
    std::string root = "/";
    std::string state_dir;  // remembers which packages systemk installed
    std::string cache_dir;  // downloaded package files
};

class NativeResolver {
public:
    NativeResolver(const systemk_host *host, NativeSettings settings, std::unique_ptr<PackageLibrary> library)
        : host_(host), settings_(std::move(settings)), library_(std::move(library)) {}
    // Returns the result JSON; throws NativeError (or std::exception for a malformed request).
    std::string resolve(const std::string &request_json);
    const NativeSettings &settings() const { return settings_; }

private:
    std::string resolve_name(const std::string &name, const std::string &version, bool dry_run, bool has_command);
    std::string resolve_file(const std::string &path, const std::string &origin, bool dry_run, bool has_command);
    std::string resolve_url(const std::string &url, const std::string &sha256, bool dry_run, bool has_command);

    const systemk_host *host_;
    NativeSettings settings_;
    std::unique_ptr<PackageLibrary> library_;
    std::mutex mutex_;  // one transaction at a time; libraries keep process-wide state
};

}  // namespace pkg_native

namespace pkg_native {

// The C entry points' side: runs resolve and turns every exception into a status and message.
systemk_status resolve_entry(NativeResolver *resolver, const char *request_json, systemk_output *result,
                             systemk_output *error) noexcept;

// The settings every native resolver reads: "<plugin>.root", "state-dir", "cache-dir".
NativeSettings read_settings(const systemk_host *host, const std::string &plugin);

}  // namespace pkg_native
