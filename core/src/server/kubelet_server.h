#pragma once
// The kubelet HTTPS API (what `kubectl logs` reaches through the API server): TLS from
// ServingTls, every request authenticated (client certificate or bearer token) and authorized
// (SubjectAccessReview) before it is routed. It runs on an io_context and thread of its own, so
// no request, review or journal read ever holds up the agent's event loop.
#include <boost/asio.hpp>

#include <memory>
#include <string>
#include <thread>

#include "kube/api_client.h"
#include "kube/kubeconfig.h"
#include "server/access_reviewer.h"
#include "server/http_types.h"
#include "server/node_view.h"
#include "server/serving_tls.h"

namespace systemk::server {

class KubeletServer {
public:
    // `host` empty: every address. `kubeconfig`: the node's credentials, for the reviews.
    KubeletServer(std::string host, unsigned short port, std::unique_ptr<ServingTls> tls, const kube::Kubeconfig &kubeconfig,
                  NodeView node, AccessReviewer::Ttls ttls = {});
    ~KubeletServer();
    KubeletServer(const KubeletServer &) = delete;
    KubeletServer &operator=(const KubeletServer &) = delete;

    // Binds (throws boost::system::system_error when it cannot) and starts serving.
    void start();
    void stop();
    unsigned short port() const { return port_; }

private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::ip::tcp::socket socket);
    // Returns whether the connection may serve another request.
    asio::awaitable<bool> handle(TlsStream &stream, const Request &req, const CertificateUser &peer);
    asio::awaitable<bool> route(TlsStream &stream, const Request &req, const std::string &path,
                                const std::string &query);

    std::string host_;
    unsigned short port_;
    std::unique_ptr<ServingTls> tls_;
    NodeView node_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    kube::ApiClient client_;
    AccessReviewer reviewer_;
    std::thread thread_;
};

}  // namespace systemk::server
