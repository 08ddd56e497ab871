#include "plugins/plugin_file_policy.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace systemk::plugins {
namespace {

constexpr std::string_view kSuffix = ".so";
constexpr std::string_view kDistroPrefix = "libsystemk-";

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string owner_problem(const struct stat &st, uid_t trusted_uid) {
    if (st.st_uid == 0 || st.st_uid == trusted_uid) return {};
    const std::string expected = trusted_uid == 0 ? "root" : "root or uid " + std::to_string(trusted_uid);
    return "is owned by uid " + std::to_string(st.st_uid) + ", not " + expected;
}

std::string write_problem(const struct stat &st, bool sticky_allowed) {
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return {};
    if (sticky_allowed && (st.st_mode & S_ISVTX)) return {};
    const char *who = (st.st_mode & S_IWOTH) ? "others" : "its group";
    return std::string("is writable by ") + who + " (mode " + octal_mode(st.st_mode) + ")";
}

// `dir` (canonical) and each of its ancestors up to /.
std::string directory_chain_problem(const std::filesystem::path &dir, uid_t trusted_uid) {
    bool innermost = true;
    for (auto p = dir;; p = p.parent_path()) {
        struct stat st {};
        if (stat(p.c_str(), &st) != 0) return "directory " + p.string() + " cannot be examined: " + std::strerror(errno);
        if (!S_ISDIR(st.st_mode)) return p.string() + " is not a directory";
        auto problem = owner_problem(st, trusted_uid);
        if (problem.empty()) problem = write_problem(st, !innermost);
        if (!problem.empty()) return "directory " + p.string() + " " + problem;
        innermost = false;
        if (p == p.parent_path()) return {};
    }
}

}  // namespace

bool is_valid_plugin_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

std::optional<std::string> plugin_name_from_file(const std::filesystem::path &file) {
    const std::string file_name = file.filename().native();
    std::string_view name = file_name;
    if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
    name.remove_suffix(kSuffix.size());
    if (name.starts_with(kDistroPrefix)) name.remove_prefix(kDistroPrefix.size());
    if (!is_valid_plugin_name(name)) return std::nullopt;
    return std::string(name);
}

std::string untrusted_plugin_file_reason(const std::filesystem::path &file, uid_t trusted_uid) {
    std::error_code ec;
    const auto listed_in = std::filesystem::canonical(file.has_parent_path() ? file.parent_path() : ".", ec);
    if (ec) return "its directory cannot be resolved: " + ec.message();
    if (auto problem = directory_chain_problem(listed_in, trusted_uid); !problem.empty()) return problem;

    const auto target = std::filesystem::canonical(file, ec);
    if (ec) return "it cannot be resolved: " + ec.message();
    struct stat st {};
    if (stat(target.c_str(), &st) != 0) return "it cannot be examined: " + std::string(std::strerror(errno));
    const auto label = std::filesystem::is_symlink(file, ec) ? "its target " + target.string() : std::string("it");
    if (!S_ISREG(st.st_mode)) return label + " is not a regular file";
    auto problem = owner_problem(st, trusted_uid);
    if (problem.empty()) problem = write_problem(st, false);
    if (!problem.empty()) return label + " " + problem;

    if (target.parent_path() != listed_in) return directory_chain_problem(target.parent_path(), trusted_uid);
    return {};
}

}  // namespace systemk::plugins
