#pragma once
#include <filesystem>
#include <string>

namespace systemk::util {

// Replaces `path` with `content` atomically (a reader sees the old or the new file, never a
// mix), readable by the owner only from the first byte on, and durable once this returns.
// Creates missing parent directories 0700. Throws std::system_error.
void write_private_file(const std::filesystem::path &path, const std::string &content);

}  // namespace systemk::util
