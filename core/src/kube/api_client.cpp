#include "kube/api_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <spdlog/spdlog.h>

#include "metrics/agent_metrics.h"

#include <algorithm>
#include <fstream>

namespace systemk::kube {
namespace {

namespace beast = boost::beast;
namespace ssl = asio::ssl;
using namespace std::chrono_literals;
constexpr auto kConnectTimeout = 10s;
constexpr auto kRequestTimeout = 30s;

bool is_ip_literal(const std::string &host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

std::string describe(const boost::system::error_code &ec) {
    if (ec.category() == asio::error::get_ssl_category()) {
        const auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
        if (reason) return reason;
    }
    return ec.message();
}

bool is_verification_failure(const boost::system::error_code &ec) {
    return ec.category() == asio::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

}  // namespace

boost::json::value ApiResponse::json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec) throw ApiError(status, "response is not JSON: " + ec.message());
    return v;
}

ApiClient::ApiClient(asio::any_io_executor executor, Kubeconfig config, double qps, double burst)
    : executor_(std::move(executor)), config_(std::move(config)), tls_(ssl::context::tls_client),
      gate_(executor_, qps, burst, kMaxInFlight) {
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (config_.insecure_skip_tls_verify) {
        tls_.set_verify_mode(ssl::verify_none);
    } else {
        tls_.set_verify_mode(ssl::verify_peer);
        if (!config_.ca_pem.empty()) tls_.add_certificate_authority(asio::buffer(config_.ca_pem), ec);
        else tls_.set_default_verify_paths(ec);
        if (ec) throw KubeconfigError(config_.source.string() + ": certificate-authority is not a PEM certificate");
        tls_.set_verify_callback(ssl::host_name_verification(config_.host));
    }
    if (!config_.client_cert_pem.empty()) {
        tls_.use_certificate_chain(asio::buffer(config_.client_cert_pem), ec);
        if (ec) throw KubeconfigError(config_.source.string() + ": client-certificate is not a PEM certificate");
        tls_.use_private_key(asio::buffer(config_.client_key_pem), ssl::context::pem, ec);
        if (ec) throw KubeconfigError(config_.source.string() + ": client-key is not a PEM key matching the certificate");
        // The file's time when the kubeconfig was read: a rotation since then (the Lease
        // thread's client is made later) is seen as a change.
        cert_mtime_ = config_.client_cert_mtime;
        cert_checked_ = std::chrono::steady_clock::now();
    }
}

void ApiClient::reload_client_certificate_now() { reload_client_certificate(true); }

void ApiClient::reload_client_certificate(bool force) {
    if (config_.client_cert_file.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - cert_checked_ < 5s) return;
    cert_checked_ = now;
    std::error_code fec;
    const auto mtime = std::filesystem::last_write_time(config_.client_cert_file, fec);
    if (fec || mtime == cert_mtime_) return;
    auto slurp = [](const std::filesystem::path &p) {
        std::ifstream in(p);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    const auto cert = slurp(config_.client_cert_file);
    const auto key = config_.client_key_file.empty() ? config_.client_key_pem : slurp(config_.client_key_file);
    // Tried on a scratch context first: a half-written or mismatched pair must not replace a
    // working one.
    ssl::context trial(ssl::context::tls_client);
    boost::system::error_code ec;
    trial.use_certificate_chain(asio::buffer(cert), ec);
    if (!ec) trial.use_private_key(asio::buffer(key), ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(trial.native_handle()) != 1) ec = asio::error::invalid_argument;
    if (ec) {
        spdlog::warn("client certificate {} changed but is not usable with its key yet; keeping the current one",
                     config_.client_cert_file.string());
        return;
    }
    tls_.use_certificate_chain(asio::buffer(cert), ec);
    if (!ec) tls_.use_private_key(asio::buffer(key), ssl::context::pem, ec);
    if (ec) {  // the pair loaded into the scratch context: not expected, but never silent
        spdlog::error("client certificate {} could not be applied: {}", config_.client_cert_file.string(), ec.message());
        return;
    }
    cert_mtime_ = mtime;
    config_.client_cert_pem = cert;
    config_.client_key_pem = key;
    idle_.clear();  // kept-alive connections authenticate with the old certificate
    spdlog::info("client certificate reloaded from {}", config_.client_cert_file.string());
}

ApiClient::~ApiClient() = default;

asio::awaitable<std::unique_ptr<ApiClient::Stream>> ApiClient::connect() {
    using namespace asio::experimental::awaitable_operators;
    auto stream = std::make_unique<Stream>(executor_, tls_);
    asio::ip::tcp::resolver resolver(executor_);
    auto [rec, endpoints] = co_await resolver.async_resolve(config_.host, config_.port, asio::as_tuple(asio::use_awaitable));
    const auto where = config_.host + ":" + config_.port;
    if (rec) throw ApiError(0, "cannot resolve " + where + ": " + rec.message());
    auto &tcp = beast::get_lowest_layer(*stream);
    tcp.expires_after(kConnectTimeout);
    auto [cec, ep] = co_await tcp.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
    if (cec) throw ApiError(0, "cannot connect to " + where + ": " + cec.message());
    (void)ep;
    if (!is_ip_literal(config_.host)) SSL_set_tlsext_host_name(stream->native_handle(), config_.host.c_str());
    auto [hec] = co_await stream->async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (hec) throw ApiError(0, "TLS handshake with " + where + " failed: " + describe(hec), is_verification_failure(hec));
    tcp.expires_never();
    co_return stream;
}

http::request<http::string_body> ApiClient::make_request(http::verb verb, const std::string &target, std::string body,
                                                         const std::string &content_type) const {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, config_.host);
    req.set(http::field::user_agent, "systemk/0.1");
    req.set(http::field::accept, "application/json");
    if (const auto &token = current_token(); !token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty() || verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch) {
        req.set(http::field::content_type, content_type);
        req.body() = std::move(body);
        req.prepare_payload();
    }
    req.keep_alive(true);
    return req;
}

const std::string &ApiClient::current_token() const {
    if (config_.token_file.empty()) return config_.token;
    const auto now = std::chrono::steady_clock::now();
    if (token_read_ == std::chrono::steady_clock::time_point{} || now - token_read_ > 60s) {
        std::ifstream in(config_.token_file);
        std::string fresh((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!fresh.empty() && (fresh.back() == '\n' || fresh.back() == '\r')) fresh.pop_back();
        // Keep the last good token if the file is briefly absent during a rotation.
        token_ = fresh.empty() && !token_.empty() ? token_ : (fresh.empty() ? config_.token : fresh);
        token_read_ = now;
    }
    return token_;
}

asio::awaitable<std::pair<ApiResponse, bool>> ApiClient::exchange(Stream &stream, const http::request<http::string_body> &req) {
    auto &tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) throw ApiError(0, "request failed: " + describe(wec));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    auto [rec, rn] = co_await http::async_read(stream, buffer, res, asio::as_tuple(asio::use_awaitable));
    (void)rn;
    if (rec) throw ApiError(0, "reading the response failed: " + describe(rec));
    tcp.expires_never();
    ApiResponse out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    co_return std::pair{std::move(out), res.keep_alive()};
}

asio::awaitable<ApiResponse> ApiClient::request(http::verb verb, std::string target, std::string body,
                                                std::string content_type, Priority priority) {
    co_await gate_.enter(priority);
    const auto started = std::chrono::steady_clock::now();
    // No co_await inside a catch block: take the failure out, free the slot, then rethrow.
    std::exception_ptr failure;
    ApiResponse res;
    try {
        const auto req = make_request(verb, target, std::move(body), content_type);
        res = co_await send(req);
    } catch (...) {
        failure = std::current_exception();
    }
    gate_.leave();
    metrics::api_request(http::to_string(verb), failure ? 0 : res.status, std::chrono::steady_clock::now() - started);
    if (failure) std::rethrow_exception(failure);
    co_return res;
}

asio::awaitable<ApiResponse> ApiClient::send(const http::request<http::string_body> &req) {
    reload_client_certificate(false);
    // A pooled connection may have been closed by the server meanwhile: then retry once fresh.
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::unique_ptr<Stream> stream;
        const bool pooled = !idle_.empty();
        if (pooled) {
            stream = std::move(idle_.back());
            idle_.pop_back();
        } else {
            stream = co_await connect();
        }
        try {
            auto [res, reusable] = co_await exchange(*stream, req);
            if (reusable && idle_.size() < kMaxInFlight) idle_.push_back(std::move(stream));
            co_return res;
        } catch (const ApiError &) {
            if (!pooled || attempt == 1) throw;
            idle_.clear();  // the server closed one: the others are most likely closed too
        }
    }
    throw ApiError(0, "request failed");
}

asio::awaitable<void> ApiClient::stream(std::string target, std::function<void(std::string_view)> on_line,
                                        std::chrono::seconds idle_timeout) {
    // A watch holds its own connection for minutes: it takes a token but no slot.
    co_await gate_.enter(Priority::normal, false);
    reload_client_certificate(false);
    auto stream = co_await connect();
    auto &tcp = beast::get_lowest_layer(*stream);
    auto req = make_request(http::verb::get, target, {}, {});
    req.keep_alive(false);
    tcp.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(*stream, req, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec) throw ApiError(0, "watch request failed: " + describe(wec));
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)hn;
    if (hec) throw ApiError(0, "watch failed: " + describe(hec));
    const unsigned status = parser.get().result_int();
    metrics::api_watch(status);
    std::string pending;
    char chunk[16384];
    while (!parser.is_done()) {
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof chunk;
        tcp.expires_after(idle_timeout);
        // read_some: hand over each chunk as it arrives instead of waiting for a full buffer.
        auto [ec, n] = co_await http::async_read_some(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
        if (ec) throw ApiError(status, "watch stream broke: " + describe(ec));
        pending.append(chunk, sizeof chunk - parser.get().body().size);
        size_t start = 0;
        for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
            if (nl > start) on_line(std::string_view(pending).substr(start, nl - start));
        pending.erase(0, start);
        if (status >= 300 && pending.size() > 65536) break;
    }
    if (!pending.empty()) on_line(pending);
    if (status >= 300) throw ApiError(status, "watch refused with HTTP " + std::to_string(status) + ": " + pending.substr(0, 300));
    beast::error_code ignored;
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

std::string url_encode(std::string_view value) {
    static const char *hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace systemk::kube
