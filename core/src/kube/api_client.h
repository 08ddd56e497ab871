#pragma once
// HTTPS client for the Kubernetes API on Boost.Beast + OpenSSL, written as Asio coroutines.
// One client lives on one io_context thread: requests reuse idle keep-alive connections (at most
// kMaxInFlight at once), watches get a connection of their own, every operation has a deadline,
// and a RequestGate keeps the request rate polite and lets normal requests (pod status writes)
// go ahead of low-priority ones (Events).
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kube/kubeconfig.h"
#include "kube/request_gate.h"

namespace systemk::kube {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// A failed call. status() is the HTTP status, or 0 when no response arrived (network, TLS).
class ApiError : public std::runtime_error {
public:
    ApiError(unsigned status, const std::string &what, bool tls_verification = false)
        : std::runtime_error(what), status_(status), tls_verification_(tls_verification) {}
    unsigned status() const { return status_; }
    // The server's certificate was rejected: a configuration problem, retrying won't help.
    bool tls_verification_failed() const { return tls_verification_; }

private:
    unsigned status_;
    bool tls_verification_;
};

struct ApiResponse {
    unsigned status = 0;
    std::string body;
    boost::json::value json() const;  // throws ApiError if the body is not JSON
    bool ok() const { return status >= 200 && status < 300; }
};

class ApiClient {
public:
    // Defaults of --kube-api-qps / --kube-api-burst. The budget is 100 pods created at once all
    // Running within a second: about one status write per pod plus a list for each newly
    // referenced secret or configMap must pass in that second without queueing, so the burst
    // covers 200 requests and the rate sustains 100 pods a second. (The kubelet's 50/100 would
    // hold the second half of such a burst back by a second.) Events do not count against the
    // pods: they are Priority::low and wait while any status write waits.
    static constexpr double kDefaultQps = 100;
    static constexpr double kDefaultBurst = 200;
    // Requests in flight at once, each on its own kept-alive connection (watches not counted).
    // Enough that a few slow lists never hold status writes back; few enough that a burst of
    // 100 writes reuses warm connections instead of 100 TLS handshakes.
    static constexpr std::size_t kMaxInFlight = 8;

    // Throws KubeconfigError if the certificates or key in `config` cannot be used.
    ApiClient(asio::any_io_executor executor, Kubeconfig config, double qps = kDefaultQps,
              double burst = kDefaultBurst);
    ~ApiClient();

    // One request; waits for a rate token and a connection slot first. Requests of
    // Priority::normal are admitted before any waiting Priority::low one (FIFO within a priority):
    // post Events with Priority::low so that they never delay status writes.
    asio::awaitable<ApiResponse> request(http::verb verb, std::string target, std::string body = {},
                                         std::string content_type = "application/json",
                                         Priority priority = Priority::normal);
    // GET `target` and call on_line for every newline-terminated line of the (chunked) body until
    // the server ends it. Throws ApiError on failure or when nothing arrives for idle_timeout.
    asio::awaitable<void> stream(std::string target, std::function<void(std::string_view)> on_line,
                                 std::chrono::seconds idle_timeout);

    const Kubeconfig &config() const { return config_; }

    // A client certificate from a file follows that file: when it changed (a rotation wrote a
    // new certificate and key), new connections use the new pair and kept-alive ones are let go;
    // open watches keep going. Checked at most every few seconds, and at once by this call.
    void reload_client_certificate_now();

private:
    using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    asio::awaitable<std::unique_ptr<Stream>> connect();
    // request() once admitted: a pooled connection, or a new one.
    asio::awaitable<ApiResponse> send(const http::request<http::string_body> &req);
    // The response, and whether the connection may be reused.
    asio::awaitable<std::pair<ApiResponse, bool>> exchange(Stream &stream, const http::request<http::string_body> &req);
    http::request<http::string_body> make_request(http::verb verb, const std::string &target, std::string body,
                                                  const std::string &content_type) const;

    asio::any_io_executor executor_;
    Kubeconfig config_;
    asio::ssl::context tls_;
    RequestGate gate_;
    std::vector<std::unique_ptr<Stream>> idle_;
    // tokenFile is re-read once a minute: rotated tokens (projected service-account tokens,
    // bootstrap flows) are picked up without a restart.
    void reload_client_certificate(bool force);
    std::filesystem::file_time_type cert_mtime_{};
    std::chrono::steady_clock::time_point cert_checked_{};
    mutable std::string token_;
    mutable std::chrono::steady_clock::time_point token_read_{};
    const std::string &current_token() const;
};

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view value);

}  // namespace systemk::kube
