#pragma once
// Which files the host may dlopen as plugins: the name the file must carry, and who may own or
// write it. Both are decided before the library is opened, because opening it already runs its
// constructors with the agent's privileges.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace systemk::plugins {

// A plugin name: 1 to 64 characters of [a-z0-9-].
bool is_valid_plugin_name(std::string_view name);

// The plugin name a file must declare, from its file name: "<name>.so", or "libsystemk-<name>.so"
// for distributions that prefix libraries (so pkg-apt.so and libsystemk-pkg-apt.so are both
// "pkg-apt"). Nothing when the file name does not have that form.
std::optional<std::string> plugin_name_from_file(const std::filesystem::path &file);

// Why `file` must not be loaded, or an empty string when it may be. As sshd's StrictModes: the
// file (after following symlinks), the directory it is listed in, the directory of its target,
// and every ancestor of those up to / must be owned by root or by `trusted_uid` (the agent's
// euid) and must not be writable by group or others. An ancestor with the sticky bit (/tmp) may be
// writable by others: only the owner of an entry, already checked, can replace it there.
std::string untrusted_plugin_file_reason(const std::filesystem::path &file, uid_t trusted_uid);

}  // namespace systemk::plugins
