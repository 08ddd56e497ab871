#include "pods/container_files.h"

#include <filesystem>

#include "pods/pod_layout.h"
#include "pods/spec_error.h"

namespace systemk::pods {

// Placeholders: filled in by the security work (env file) and the volume work (subPath pins).
void write_env_file(const std::string &, const std::vector<std::pair<std::string, std::string>> &) {}

void pin_subpaths(const std::vector<units::SubPathMount> &) {}

void remove_pod_files(const NodeContext &node, const std::string &uid) {
    std::error_code ec;
    try {
        std::filesystem::remove_all(pod_runtime_dir(node, uid), ec);
        std::filesystem::remove_all(pod_dir(node, uid), ec);
    } catch (const SpecError &) {
    }
}

}  // namespace systemk::pods
