#pragma once
// A package plugin is a thin front (what the host loads) and a backend shared object linked
// against the heavy package library, loaded only when a call needs it: the agent of a node
// whose pods never use a package manager never maps libapt-pkg, librpm or libalpm (about 9 MB
// of RSS). The interface between the two is internal to the plugin (same build, same
// compiler): one extern "C" factory per backend returning a C++ object.
#include <stdexcept>
#include <string>

namespace pkg_native {

// The backends' directory is a subdirectory of the plugin directory: the host loads every
// *.so directly in its plugin directories, never one below them.
inline constexpr char kBackendDir[] = "backends";
// Every backend exports this one symbol (its version script hides the rest).
inline constexpr char kBackendFactory[] = "systemk_backend_make";

struct BackendLoadError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// <directory of the shared object that holds this code>/backends/<file_name>: the front's own
// file, wherever the plugin directory is (installed tree, build tree, the e2e node's mount).
std::string backend_path(const std::string &file_name);

// Why `path` must not be loaded, as the host judges plugin files: a regular file (not a
// symlink) owned by root or this process's user, not writable by group or others, in
// directories with the same owners that only they can write to (sticky ancestors allowed).
// Empty when it is fine.
std::string untrusted_backend_reason(const std::string &path);

// Checks and dlopens `path` (RTLD_NOW | RTLD_LOCAL, kept loaded for the process lifetime, as
// the host keeps its plugins) and returns its factory. Throws BackendLoadError
// "cannot load <path>: <reason>".
void *load_backend_factory(const std::string &path);

}  // namespace pkg_native
