#pragma once
// Certificate rotation, as the kubelet does it: at a jittered 70–90 % of the current
// certificate's lifetime (or at once for a placeholder such as a self-signed serving
// certificate) a new key and CSR go out with the node's current credentials; the new pair
// replaces the file atomically and its users pick it up (the API clients without dropping
// their watches, the kubelet API server for new connections).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bootstrap/pki.h"
#include "kube/api_client.h"

namespace systemk::bootstrap {

// When to renew a certificate valid for `v`: at (0.7 + 0.2 * jitter) of its lifetime, jitter in [0, 1].
std::chrono::system_clock::time_point rotation_time(const Validity &v, double jitter);

struct RotatedCertificate {
    std::string what;                // "client certificate", "serving certificate" (for the log)
    std::filesystem::path pem;       // certificate and key in one file
    std::string signer;
    std::vector<std::string> usages;
    std::function<CsrSubject()> subject;  // asked at each renewal: addresses may have changed
    std::function<bool(const std::string &cert_pem)> renew_now;  // optional: a placeholder
    std::function<void()> renewed;                              // optional: tell the users
};

class CertificateRotator {
public:
    CertificateRotator(boost::asio::io_context &io, kube::ApiClient &client, RotatedCertificate cert);
    ~CertificateRotator();
    void start();

private:
    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> rotate_once();

    boost::asio::io_context &io_;
    kube::ApiClient &client_;
    RotatedCertificate cert_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The node's client certificate (kubernetes.io/kube-apiserver-client-kubelet).
RotatedCertificate client_certificate(std::filesystem::path pem, std::string node_name, kube::ApiClient &client);
// The kubelet API's serving certificate (kubernetes.io/kubelet-serving), renewed at once while
// it is self-signed; its CSRs need approval (kubectl certificate approve, or an approver).
RotatedCertificate serving_certificate(std::filesystem::path pem, std::string node_name, std::vector<std::string> dns_names,
                                       std::vector<std::string> ip_addresses);

}  // namespace systemk::bootstrap
