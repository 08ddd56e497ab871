#pragma once
#include <string>
#include <vector>

namespace systemk::cli {

// Each returns the process exit code.
int render_command(const std::vector<std::string> &args);
int plugins_command(const std::vector<std::string> &args);
int run_command(const std::vector<std::string> &args);
int join_command(const std::vector<std::string> &args);

}  // namespace systemk::cli
