#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace systemk::pods {

// What the node knows about itself and the cluster, as far as unit synthesis needs it.
struct NodeContext {
    std::string node_name;
    std::string internal_ip;
    std::string external_ip;
    // The API server as systemk reaches it from the host network (a ClusterIP would not be).
    std::string api_server_host;
    std::string api_server_port;
    std::string state_dir = "/var/lib/systemk";
    // tmpfs: secrets, tokens and secret-derived environment never touch persistent disk.
    std::string runtime_dir = "/run/systemk";
    std::string unit_dir = "/run/systemd/system";
    // More host paths no pod may see (the agent's kubeconfig, keys), besides the state and
    // runtime directories, /etc/systemk and the unit directory.
    std::vector<std::string> private_paths;
    // Whether the host knows a uid/gid (unset: not checked, as in `systemk render`).
    std::function<bool(int64_t)> user_exists;
    std::function<bool(int64_t)> group_exists;
    std::optional<int64_t> override_root_uid;
    // Used for resourceFieldRef when a container sets no limit (the kubelet uses allocatable).
    int64_t allocatable_millicpu = 1000;
    int64_t allocatable_memory_bytes = 1LL << 30;
};

}  // namespace systemk::pods
