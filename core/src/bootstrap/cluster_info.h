#pragma once
// The kubeadm discovery model: the `cluster-info` configMap in kube-public is read anonymously
// over an unverified connection, then trusted only if (1) its JWS signature proves that the
// server knows our bootstrap token and (2) the CA inside it has one of the pinned public-key
// hashes. Pure functions: the network part lives in join.cpp.
#include <boost/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace systemk::bootstrap {

class JoinError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct BootstrapToken {
    std::string id;      // 6 of [a-z0-9]
    std::string secret;  // 16 of [a-z0-9]; never logged
    std::string full() const { return id + "." + secret; }
};
// Throws JoinError naming the expected format (never echoing the secret).
BootstrapToken parse_bootstrap_token(const std::string &text);

// "sha256:<64 hex>", lower-cased. Throws JoinError.
std::string parse_ca_pin(const std::string &text);

struct ClusterInfo {
    std::string server;  // as the cluster publishes it
    std::string ca_pem;
};
// Checks a cluster-info configMap (the API object) against the token and the pins.
// Throws JoinError with what is wrong and what to do.
ClusterInfo verify_cluster_info(const boost::json::object &config_map, const BootstrapToken &token,
                                const std::vector<std::string> &ca_pins);

std::string base64url_encode(const std::string &bytes);
std::string base64url_decode(const std::string &text);  // throws JoinError

}  // namespace systemk::bootstrap
