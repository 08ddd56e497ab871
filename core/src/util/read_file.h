#pragma once
// Small kernel interface files (/proc, cgroup) read whole.
#include <filesystem>
#include <optional>
#include <string>

namespace systemk::util {

// The file's content, or nullopt when it cannot be opened (gone, no permission).
std::optional<std::string> read_small_file(const std::filesystem::path &path);

}  // namespace systemk::util
