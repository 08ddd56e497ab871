#pragma once
// Facts about this host for the Node object.
#include <cstdint>
#include <string>

namespace systemk::node {

struct HostInfo {
    std::string hostname;
    std::string os_image;        // PRETTY_NAME from os-release
    std::string kernel_version;
    std::string architecture;    // Kubernetes naming: amd64, arm64, ...
    std::string machine_id;
    std::string boot_id;
    std::string system_uuid;
    int64_t cpus = 1;
    int64_t memory_bytes = 0;
    int64_t ephemeral_storage_bytes = 0;
};

// `storage_path` is where pod data lives (its filesystem size is ephemeral-storage capacity).
HostInfo read_host_info(const std::string &storage_path);

// Value of `key` in an os-release text, unquoted.
std::string os_release_value(const std::string &text, const std::string &key);

}  // namespace systemk::node
