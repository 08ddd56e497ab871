#pragma once
// One certificates.k8s.io/v1 CertificateSigningRequest through to its certificate: create it,
// wait until it is approved and signed, and turn every way it can go wrong into a message that
// says what to fix on the cluster side.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "kube/api_client.h"

namespace systemk::bootstrap {

struct CertificateRequest {
    std::string csr_pem;
    std::string signer;               // kubernetes.io/kube-apiserver-client-kubelet, …/kubelet-serving
    std::vector<std::string> usages;  // "digital signature", "key encipherment", "client auth"
    std::string name_prefix = "node-csr-";
    // Approved but no certificate after this long: the signer is missing (a JoinError).
    std::chrono::seconds signing_timeout{120};
    std::chrono::milliseconds poll_every{1000};
};

// The signed certificate (PEM). Throws JoinError.
boost::asio::awaitable<std::string> request_certificate(kube::ApiClient &client, const CertificateRequest &req);

}  // namespace systemk::bootstrap
