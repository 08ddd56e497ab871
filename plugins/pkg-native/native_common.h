#pragma once
// What pkg-rpm and pkg-pacman share around their package libraries: the host's services, the
// one-package-transaction-at-a-time rule, downloads pinned by sha256, remembering what systemk
// installed, and the resolve result the host reads (the same members pkg-apt reports).
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_glue.h"
#include "systemk/plugin.h"

namespace pkg_native {

struct NativeError : std::runtime_error {
    NativeError(systemk_status s, const std::string &message) : std::runtime_error(message), status(s) {}
    systemk_status status;
};

// `root` + `path`, for a root that is "/" or a directory.
std::string under_root(const std::string &root, const std::string &path);

// The package file at `url`: kept in `cache_dir` by URL and pin, downloaded through the host's
// fetch service, and checked against `sha256` (when given) before it is kept: a mismatch
// leaves nothing behind. `sha256_of_file` is the package library's digest. Throws NativeError.
std::string fetch_pinned(const systemk_host *host, const std::string &url, const std::string &sha256,
                         const std::string &cache_dir, const std::function<std::string(const std::string &)> &sha256_of_file);

// A marker under state_dir/installed/ per package systemk installed (never for one it found).
bool installed_by_systemk(const std::string &state_dir, const std::string &name);
void remember_installed(const systemk_host *host, const std::string &state_dir, const std::string &name);

// Masks (a /dev/null link under root/etc/systemd/system, as `systemctl mask`) every unit in
// `files` that could start the package's daemon outside Kubernetes.
void mask_units(const systemk_host *host, const std::string &root, const std::string &name,
                const std::vector<std::string> &files);

struct Described {
    std::string package, version;
    bool installed_by_systemk = false;
    bool dry_run = false, present = true;
    std::vector<std::string> files;  // absolute paths as the package lists them (without root)
};

// The result JSON: package, version, installed, present (dry runs), unit (named after the
// package, else the only service; several and none named: an error unless the pod gives a
// command) and dataDirectories. Throws NativeError for the ambiguous unit.
std::string describe(const Described &d, const std::string &root, bool has_command);

bool has_command(const std::string &request_json);

}  // namespace pkg_native
