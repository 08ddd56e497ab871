#include "pods/container_files.h"

#include <filesystem>

#include "pods/pod_layout.h"
#include "pods/spec_error.h"

namespace systemk::pods {

// Placeholders: filled in by the security work (env file) and the volume work (subPath pins).
void write_env_file(const std::string &, const std::vector<std::pair<std::string, std::string>> &) {}
// pin_subpaths and remove_pod_files: subpath_pin.cpp.

}  // namespace systemk::pods
