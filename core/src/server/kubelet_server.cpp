#include "server/kubelet_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "metrics/text_format.h"
#include "server/container_logs.h"
#include "server/log_options.h"

namespace systemk::server {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
namespace ssl = asio::ssl;
constexpr auto kHandshakeTimeout = 10s;
constexpr auto kIdleTimeout = 90s;
constexpr size_t kMaxBody = 64 * 1024;

// Path segments, percent-decoded; empty segments dropped (the kubelet's router does the same).
std::vector<std::string> segments(const std::string &path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
        const auto slash = path.find('/', i);
        const auto end = slash == std::string::npos ? path.size() : slash;
        if (end > i) out.push_back(percent_decode(std::string_view(path).substr(i, end - i), false));
        i = end + 1;
    }
    return out;
}

std::string pod_list(const NodeView &node) {
    json::array items;
    for (auto &pod : node.pods()) items.emplace_back(std::move(pod));
    return json::serialize(json::object{{"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", json::object{}}, {"items", std::move(items)}});
}

}  // namespace

asio::awaitable<bool> reply(TlsStream &stream, const Request &req, const Reply &answer) {
    http::response<http::string_body> res{answer.status, req.version()};
    res.set(http::field::content_type, answer.content_type);
    if (answer.status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
    res.keep_alive(req.keep_alive());
    res.body() = answer.body;
    res.prepare_payload();
    stream.next_layer().expires_after(30s);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return !ec && res.keep_alive();
}

KubeletServer::KubeletServer(std::string host, unsigned short port, std::unique_ptr<ServingTls> tls,
                             const kube::Kubeconfig &kubeconfig, NodeView node, AccessReviewer::Ttls ttls)
    : host_(std::move(host)), port_(port), tls_(std::move(tls)), node_(std::move(node)), acceptor_(io_),
      client_(io_.get_executor(), kubeconfig), reviewer_(client_, node_.node_name, ttls) {}

KubeletServer::~KubeletServer() { stop(); }

void KubeletServer::start() {
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host_.empty() ? "::" : host_), port_);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec && host_.empty()) {  // no IPv6 on this host: every IPv4 address then
        endpoint = {asio::ip::address_v4::any(), port_};
        acceptor_.open(endpoint.protocol());
    } else if (ec) {
        throw boost::system::system_error(ec);
    }
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (host_.empty() && endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
    spdlog::info("kubelet API listening on {}:{}", host_.empty() ? "*" : host_, port_);
}

void KubeletServer::stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> KubeletServer::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // Out of descriptors and the like: back off instead of spinning.
            spdlog::warn("kubelet API: accept failed: {}", ec.message());
            asio::steady_timer pause(io_, 100ms);
            co_await pause.async_wait(asio::use_awaitable);
            continue;
        }
        asio::co_spawn(io_, serve(std::move(socket)), [](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception &x) {
                spdlog::debug("kubelet API: connection ended: {}", x.what());
            }
        });
    }
}

asio::awaitable<void> KubeletServer::serve(asio::ip::tcp::socket socket) {
    const auto context = tls_->current();  // kept for the connection's lifetime
    TlsStream stream(std::move(socket), *context);
    stream.next_layer().expires_after(kHandshakeTimeout);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hec) {
        spdlog::debug("kubelet API: TLS handshake failed: {}", hec.message());
        co_return;
    }
    const auto peer = verified_client_user(stream.native_handle());
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(kMaxBody);
        stream.next_layer().expires_after(kIdleTimeout);
        auto [rec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (rec) co_return;  // closed, timed out or not HTTP
        if (!co_await handle(stream, parser.get(), peer)) break;
    }
    stream.next_layer().expires_after(5s);
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<bool> KubeletServer::handle(TlsStream &stream, const Request &req, const CertificateUser &peer) {
    const std::string target(req.target());
    const auto q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : target.substr(q + 1);
    const std::string method(req.method_string());

    UserInfo user;
    if (!peer.name.empty()) {
        user.name = peer.name;
        user.groups = peer.groups;
    } else if (const auto token = bearer_token(req[http::field::authorization]); !token.empty()) {
        try {
            auto reviewed = co_await reviewer_.authenticate(token);
            if (reviewed) user = std::move(*reviewed);
        } catch (const std::exception &e) {
            spdlog::warn("kubelet API: cannot review a bearer token: {}", e.what());
        }
    }
    if (user.empty()) {
        const Reply answer{http::status::unauthorized, "Unauthorized\n"};
        co_return co_await reply(stream, req, answer);
    }
    if (std::find(user.groups.begin(), user.groups.end(), "system:authenticated") == user.groups.end())
        user.groups.push_back("system:authenticated");

    const auto attrs = request_attributes(method, path);
    Decision decision;
    bool reviewed = false;
    try {
        decision = co_await reviewer_.authorize(user, attrs);
        reviewed = true;
    } catch (const std::exception &e) {
        spdlog::warn("kubelet API: cannot review access of {} to {}: {}", user.name, path, e.what());
    }
    if (!reviewed || !decision.allowed) {
        Reply answer{http::status::forbidden, forbidden_message(user, node_.node_name, attrs)};
        if (!reviewed) {
            answer = {http::status::internal_server_error, "Authorization error (user=" + user.name + ", verb=" + attrs.verb +
                                                               ", resource=nodes, subresource=" + attrs.subresource + ")\n"};
        } else {
            spdlog::info("kubelet API: {} {} forbidden for {}{}", method, path, user.name,
                         decision.reason.empty() ? "" : " (" + decision.reason + ")");
        }
        co_return co_await reply(stream, req, answer);
    }
    spdlog::debug("kubelet API: {} {} by {}", method, path, user.name);
    co_return co_await route(stream, req, path, query);
}

asio::awaitable<bool> KubeletServer::route(TlsStream &stream, const Request &req, const std::string &path,
                                           const std::string &query) {
    Reply answer;
    std::vector<std::string> parts;
    std::map<std::string, std::string> params;
    try {
        parts = segments(path);
        params = parse_query(query);
    } catch (const BadRequest &e) {
        answer = {http::status::bad_request, std::string(e.what()) + "\n"};
    }
    const bool get = req.method() == http::verb::get;
    const auto root = parts.empty() ? std::string() : parts[0];
    const auto sub = parts.size() == 2 ? parts[1] : std::string();
    const bool agent_metrics = root == "metrics" && parts.size() == 1 && node_.agent_metrics;
    const bool resource_metrics = root == "metrics" && sub == "resource" && node_.resource_metrics;
    const bool summary = root == "stats" && sub == "summary" && node_.stats_summary;
    const bool known = (root == "healthz" && parts.size() == 1) || (root == "pods" && parts.size() == 1) ||
                       (root == "containerLogs" && parts.size() == 4) || agent_metrics || resource_metrics || summary;
    if (answer.status == http::status::bad_request) {
    } else if (root == "exec" || root == "attach" || root == "portForward" || root == "run") {
        answer = {http::status::not_implemented, "/" + root + " is not implemented by systemk yet\n"};
    } else if (!known) {
        answer = {http::status::not_found, "404 page not found\n"};
    } else if (!get) {
        answer = {http::status::method_not_allowed, "method not allowed\n"};
    } else if (root == "healthz") {
        answer = {http::status::ok, "ok"};
    } else if (root == "pods") {
        answer = {http::status::ok, pod_list(node_), "application/json"};
    } else if (agent_metrics) {
        answer = {http::status::ok, node_.agent_metrics(), metrics::kTextContentType};
    } else if (resource_metrics || summary) {
        try {
            auto work = summary ? node_.stats_summary() : node_.resource_metrics();
            std::string body = co_await std::move(work);
            answer = {http::status::ok, std::move(body), summary ? "application/json" : metrics::kTextContentType};
        } catch (const std::exception &e) {
            spdlog::warn("kubelet API: {} failed: {}", path, e.what());
            answer = {http::status::internal_server_error, std::string("cannot read statistics: ") + e.what() + "\n"};
        }
    } else {
        co_return co_await serve_container_logs(stream, req, node_, parts[1], parts[2], parts[3], params);
    }
    co_return co_await reply(stream, req, answer);
}

}  // namespace systemk::server
