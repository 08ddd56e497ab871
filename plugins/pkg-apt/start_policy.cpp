#include "start_policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace pkg_apt {
namespace {

constexpr char kScript[] = "#!/bin/sh\n# Written by systemk while it installs a package; removed afterwards.\nexit 101\n";
constexpr char kMarker[] = "Written by systemk";

bool exists(const std::string &path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

// The file is ours if it carries our marker line.
bool is_ours(const std::string &path) {
    const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[256] = {};
    const auto n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && std::strstr(buf, kMarker) != nullptr;
}

std::string prefix(const std::string &root) { return root == "/" ? std::string() : root; }

}  // namespace

StartsForbidden::StartsForbidden(const std::string &root)
    : path_(prefix(root) + "/usr/sbin/policy-rc.d"), saved_(path_ + ".systemk-saved") {
    recover(root);
    if (exists(path_)) {
        if (rename(path_.c_str(), saved_.c_str()) != 0)
            throw std::runtime_error("cannot move " + path_ + " aside: " + std::strerror(errno));
        had_own_ = true;
    }
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (fd < 0 || write(fd, kScript, sizeof kScript - 1) != static_cast<ssize_t>(sizeof kScript - 1) || fchmod(fd, 0755) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) close(fd);
        unlink(path_.c_str());
        if (had_own_) rename(saved_.c_str(), path_.c_str());
        throw std::runtime_error("cannot write " + path_ + ": " + why);
    }
    close(fd);
}

StartsForbidden::~StartsForbidden() {
    unlink(path_.c_str());
    if (had_own_) rename(saved_.c_str(), path_.c_str());
}

void StartsForbidden::recover(const std::string &root) {
    const auto path = prefix(root) + "/usr/sbin/policy-rc.d";
    if (is_ours(path)) unlink(path.c_str());
    const auto saved = path + ".systemk-saved";
    if (exists(saved) && !exists(path)) rename(saved.c_str(), path.c_str());
}

}  // namespace pkg_apt
