#pragma once
// Client certificate rotation, as the kubelet does it: at a jittered 70–90 % of the current
// certificate's lifetime, a new key and CSR go out with the current credentials; the new pair
// replaces the file atomically and the API clients pick it up without dropping their watches.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "bootstrap/pki.h"
#include "kube/api_client.h"

namespace systemk::bootstrap {

// When to renew a certificate valid for `v`: at (0.7 + 0.2 * jitter) of its lifetime, jitter in [0, 1].
std::chrono::system_clock::time_point rotation_time(const Validity &v, double jitter);

class ClientCertificateRotator {
public:
    ClientCertificateRotator(boost::asio::io_context &io, kube::ApiClient &client, std::filesystem::path client_pem,
                             std::string node_name);
    ~ClientCertificateRotator();
    void start();

private:
    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> rotate_once();

    boost::asio::io_context &io_;
    kube::ApiClient &client_;
    std::filesystem::path client_pem_;
    std::string node_name_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace systemk::bootstrap
