#include "util/read_file.h"

#include <fstream>
#include <sstream>

namespace systemk::util {

std::optional<std::string> read_small_file(const std::filesystem::path &path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace systemk::util
