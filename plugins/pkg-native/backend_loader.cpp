#include "backend_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace pkg_native {
namespace {

std::string owner_problem(const struct stat &st) {
    if (st.st_uid == 0 || st.st_uid == geteuid()) return {};
    return "is owned by uid " + std::to_string(st.st_uid) + ", not root or uid " + std::to_string(geteuid());
}

std::string write_problem(const struct stat &st, bool sticky_allowed) {
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return {};
    if (sticky_allowed && (st.st_mode & S_ISVTX)) return {};
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("is writable by ") + ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " + mode + ")";
}

}  // namespace

std::string backend_path(const std::string &file_name) {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void *>(&backend_path), &info) == 0 || !info.dli_fname)
        throw BackendLoadError("cannot load " + file_name + ": the plugin cannot find its own file");
    return (std::filesystem::path(info.dli_fname).parent_path() / kBackendDir / file_name).string();
}

std::string untrusted_backend_reason(const std::string &path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return std::string("it cannot be examined: ") + std::strerror(errno);
    if (S_ISLNK(st.st_mode)) return "it is a symbolic link";
    if (!S_ISREG(st.st_mode)) return "it is not a regular file";
    if (auto problem = owner_problem(st); !problem.empty()) return "it " + problem;
    if (auto problem = write_problem(st, false); !problem.empty()) return "it " + problem;
    std::error_code ec;
    const auto dir = std::filesystem::canonical(std::filesystem::path(path).parent_path(), ec);
    if (ec) return "its directory cannot be resolved: " + ec.message();
    bool innermost = true;
    for (auto p = dir;; p = p.parent_path()) {
        struct stat dst {};
        if (stat(p.c_str(), &dst) != 0) return "directory " + p.string() + " cannot be examined: " + std::strerror(errno);
        auto problem = owner_problem(dst);
        if (problem.empty()) problem = write_problem(dst, !innermost);
        if (!problem.empty()) return "directory " + p.string() + " " + problem;
        innermost = false;
        if (p == p.parent_path()) return {};
    }
}

void *load_backend_factory(const std::string &path) {
    if (const auto why = untrusted_backend_reason(path); !why.empty())
        throw BackendLoadError("cannot load " + path + ": " + why);
    // Never closed: objects the backend made may live as long as the plugin instance, and
    // librpm keeps process-wide state its free functions do not release.
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        throw BackendLoadError("cannot load " + path + ": " + (why ? why : "dlopen failed"));
    }
    dlerror();
    void *factory = dlsym(handle, kBackendFactory);
    if (!factory) {
        const char *why = dlerror();
        throw BackendLoadError("cannot load " + path + ": " + (why ? why : std::string("no ") + kBackendFactory));
    }
    return factory;
}

}  // namespace pkg_native
