#pragma once
// TLS bootstrap: from a bootstrap token and the CA's pinned hash (kubeadm's join model), or from
// a bootstrap kubeconfig (the kubelet's), to the node's own client certificate and kubeconfig.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bootstrap/cluster_info.h"

namespace systemk::bootstrap {

struct JoinSettings {
    std::string server;  // https://host:port (token join)
    std::optional<BootstrapToken> token;
    std::vector<std::string> ca_pins;          // parsed "sha256:<hex>"
    std::filesystem::path bootstrap_kubeconfig;  // instead of server + token
    std::string node_name;
    std::filesystem::path state_dir;
    std::filesystem::path kubeconfig;  // where to write it (default <state>/pki/kubeconfig)
};

// The CSR a node sends for its client certificate.
std::string client_csr_pem(const std::string &key_pem, const std::string &node_name);
extern const std::vector<std::string> kClientUsages;
constexpr const char *kClientSigner = "kubernetes.io/kube-apiserver-client-kubelet";

// Obtains the node's credentials and returns the kubeconfig that uses them. Blocks (it runs
// before the agent starts). Throws JoinError.
std::filesystem::path obtain_node_credentials(const JoinSettings &settings);

}  // namespace systemk::bootstrap
