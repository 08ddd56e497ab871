#pragma once
// HTTPS client for the Kubernetes API on Boost.Beast + OpenSSL, written as Asio coroutines.
// One client lives on one io_context thread: requests reuse idle keep-alive connections,
// watches get a connection of their own, every operation has a deadline, and a token bucket
// keeps the request rate polite.
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

class TokenBucket {
public:
    TokenBucket(double qps, double burst) : qps_(qps), burst_(burst), tokens_(burst) {}
    asio::awaitable<void> acquire();

private:
    double qps_, burst_, tokens_;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

class ApiClient {
public:
    // Throws KubeconfigError if the certificates or key in `config` cannot be used.
    ApiClient(asio::any_io_executor executor, Kubeconfig config, double qps = 200, double burst = 400);
    ~ApiClient();

    asio::awaitable<ApiResponse> request(http::verb verb, std::string target, std::string body = {},
                                         std::string content_type = "application/json");
    // GET `target` and call on_line for every newline-terminated line of the (chunked) body until
    // the server ends it. Throws ApiError on failure or when nothing arrives for idle_timeout.
    asio::awaitable<void> stream(std::string target, std::function<void(std::string_view)> on_line,
                                 std::chrono::seconds idle_timeout);

    const Kubeconfig &config() const { return config_; }

private:
    using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    asio::awaitable<std::unique_ptr<Stream>> connect();
    // The response, and whether the connection may be reused.
    asio::awaitable<std::pair<ApiResponse, bool>> exchange(Stream &stream, const http::request<http::string_body> &req);
    http::request<http::string_body> make_request(http::verb verb, const std::string &target, std::string body,
                                                  const std::string &content_type) const;

    asio::any_io_executor executor_;
    Kubeconfig config_;
    asio::ssl::context tls_;
    TokenBucket limiter_;
    std::vector<std::unique_ptr<Stream>> idle_;
    // tokenFile is re-read once a minute: rotated tokens (projected service-account tokens,
    // bootstrap flows) are picked up without a restart.
    mutable std::string token_;
    mutable std::chrono::steady_clock::time_point token_read_{};
    const std::string &current_token() const;
};

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view value);

}  // namespace systemk::kube
