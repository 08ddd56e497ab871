#include "node/node_agent.h"

#include <spdlog/spdlog.h>

#include "systemd/systemd_manager.h"
#include "systemd/unit_manager.h"

namespace systemk::node {
namespace {

namespace json = boost::json;
namespace asio = kube::asio;
using kube::http::verb;
using namespace std::chrono_literals;

// The status of the Ready condition in a Node object, "" when it has none.
std::string api_ready_status(const json::value &node) {
    const auto *status = node.is_object() ? node.as_object().if_contains("status") : nullptr;
    const auto *conditions = status && status->is_object() ? status->as_object().if_contains("conditions") : nullptr;
    if (!conditions || !conditions->is_array()) return {};
    for (const auto &c : conditions->as_array()) {
        if (!c.is_object()) continue;
        const auto *type = c.as_object().if_contains("type");
        const auto *value = c.as_object().if_contains("status");
        if (type && type->is_string() && type->as_string() == "Ready" && value && value->is_string())
            return std::string(value->as_string());
    }
    return {};
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

[[noreturn]] void fatal_for_status(const kube::ApiResponse &res, const std::string &what) {
    std::string message;
    boost::system::error_code ec;
    const auto body = json::parse(res.body, ec);
    if (!ec && body.is_object() && body.as_object().contains("message") && body.at("message").is_string())
        message = std::string(body.at("message").as_string());
    throw FatalError(what + ": HTTP " + std::to_string(res.status) + (message.empty() ? "" : ": " + message));
}

bool is_fatal(unsigned status) { return status == 401 || status == 403 || status == 422 || status == 400; }

}  // namespace

NodeAgent::NodeAgent(kube::ApiClient &client, NodeSettings settings, std::string storage_path,
                     std::function<bool()> caches_synced)
    : client_(client), settings_(std::move(settings)), storage_path_(std::move(storage_path)),
      caches_synced_(std::move(caches_synced)), host_(read_host_info(storage_path_)) {}

asio::awaitable<void> NodeAgent::register_node() {
    auto backoff = 500ms;
    bool failing = false;
    const auto path = "/api/v1/nodes/" + settings_.name;
    for (;;) {
        try {
            auto res = co_await client_.request(verb::get, path);
            if (res.status == 404) {
                res = co_await client_.request(verb::post, "/api/v1/nodes", json::serialize(new_node(settings_, host_)));
                if (res.status == 409) continue;  // raced with another writer: read it again
                if (!res.ok()) fatal_for_status(res, "registering node " + settings_.name + " was refused");
                spdlog::info("node={} registered", settings_.name);
            } else if (res.ok()) {
                const json::object patch{{"metadata", json::object{{"labels", node_labels(settings_, host_)}}}};
                res = co_await client_.request(verb::patch, path, json::serialize(patch), "application/merge-patch+json");
                if (!res.ok()) fatal_for_status(res, "updating node " + settings_.name + " was refused");
                spdlog::info("node={} already registered; labels updated", settings_.name);
            } else if (is_fatal(res.status)) {
                fatal_for_status(res, "reading node " + settings_.name + " was refused");
            } else {
                throw kube::ApiError(res.status, "reading node " + settings_.name + ": HTTP " + std::to_string(res.status));
            }
            uid_ = std::string(res.json().at("metadata").at("uid").as_string());
            co_await patch_status(true);
            co_return;
        } catch (const kube::ApiError &e) {
            if (e.tls_verification_failed())
                throw FatalError(std::string(e.what()) + " (check certificate-authority in " +
                                 client_.config().source.string() + ")");
            if (!failing) spdlog::warn("node={} registration failed: {}; retrying with backoff", settings_.name, e.what());
            else spdlog::debug("node={} registration still failing: {}", settings_.name, e.what());
            failing = true;
        }
        co_await sleep_for(backoff);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
}

Readiness NodeAgent::readiness() {
    Readiness r;
    const auto version = systemd::manager_version();
    if (version) settings_.systemd_version = *version;
    if (!caches_synced_()) {
        r.reason = "KubeletNotReady";
        r.message = "systemk has not synced its pod cache yet";
    } else if (!version || !systemd::unit_connection_usable()) {
        r.reason = "KubeletNotReady";
        r.message = version ? "systemk lost its systemd connection (reconnecting)" : "systemd does not answer on the system bus";
    } else {
        r.ready = true;
        r.reason = "KubeletReady";
        r.message = "systemk is posting ready status";
    }
    return r;
}

asio::awaitable<void> NodeAgent::patch_status(bool force) {
    const auto r = readiness();
    const auto now = rfc3339_now();
    if (ready_since_.empty() || r.ready != last_ready_) ready_since_ = now;
    const auto status = node_status(settings_, host_, r, now, ready_since_);
    const auto fingerprint = status_fingerprint(status);
    const bool stale = std::chrono::steady_clock::now() - last_write_ > 5min;
    if (!force && !stale && fingerprint == last_fingerprint_) {
        // Unchanged here, but the node lifecycle controller may have set Ready=Unknown while
        // the API server was out of reach: like the kubelet, compare with the API's copy (from
        // its watch cache) and write again if it differs.
        const auto res = co_await client_.request(verb::get, "/api/v1/nodes/" + settings_.name + "?resourceVersion=0");
        if (res.status == 404) throw kube::ApiError(404, "node " + settings_.name + " disappeared");
        if (!res.ok()) throw kube::ApiError(res.status, "reading node " + settings_.name + ": HTTP " + std::to_string(res.status));
        if (api_ready_status(res.json()) == (r.ready ? "True" : "False")) co_return;
        spdlog::info("node={} Ready is {} on the API server; writing the status again", settings_.name,
                     api_ready_status(res.json()));
    }
    const json::object patch{{"status", status}};
    const auto res = co_await client_.request(verb::patch, "/api/v1/nodes/" + settings_.name + "/status",
                                              json::serialize(patch), "application/merge-patch+json");
    if (res.status == 404) throw kube::ApiError(404, "node " + settings_.name + " disappeared");
    if (!res.ok()) throw kube::ApiError(res.status, "node status update: HTTP " + std::to_string(res.status));
    if (r.ready != last_ready_ || last_fingerprint_.empty())
        spdlog::info("node={} status Ready={} ({})", settings_.name, r.ready ? "True" : "False", r.message);
    last_ready_ = r.ready;
    last_fingerprint_ = fingerprint;
    last_write_ = std::chrono::steady_clock::now();
}

asio::awaitable<void> NodeAgent::status_loop() {
    bool failing = false;
    for (;;) {
        // Ready turns True as soon as it can: check quickly until then, every 10 s after.
        co_await sleep_for(last_ready_ ? 10s : 1s);
        bool deleted = false;
        try {
            co_await patch_status(false);
            if (failing) spdlog::info("node={} status updates work again", settings_.name);
            failing = false;
        } catch (const kube::ApiError &e) {
            deleted = e.status() == 404;
            if (!failing && !deleted) spdlog::warn("node={} status update failed: {}", settings_.name, e.what());
            failing = !deleted;
        }
        if (deleted) {
            spdlog::warn("node={} was deleted; registering again", settings_.name);
            last_fingerprint_.clear();
            co_await register_node();
        }
    }
}

LeaseKeeper::LeaseKeeper(kube::Kubeconfig config, std::string node_name, std::string node_uid)
    : config_(std::move(config)), name_(std::move(node_name)), uid_(std::move(node_uid)) {}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::start() {
    client_ = std::make_unique<kube::ApiClient>(io_.get_executor(), config_, 5, 10);
    asio::co_spawn(io_, loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

void LeaseKeeper::stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> LeaseKeeper::renew_once() {
    const auto path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + name_;
    json::object lease{
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", json::object{{"name", name_}, {"namespace", "kube-node-lease"},
                                  {"ownerReferences", json::array{json::object{
                                      {"apiVersion", "v1"}, {"kind", "Node"}, {"name", name_}, {"uid", uid_}}}}}},
        {"spec", json::object{{"holderIdentity", name_}, {"leaseDurationSeconds", 40},
                              {"renewTime", rfc3339_micro_now()}}}};
    if (!exists_) {
        const auto got = co_await client_->request(verb::get, path);
        if (got.ok()) {
            exists_ = true;
            resource_version_ = std::string(got.json().at("metadata").at("resourceVersion").as_string());
        } else if (got.status == 404) {
            const auto created = co_await client_->request(
                verb::post, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", json::serialize(lease));
            if (!created.ok() && created.status != 409)
                throw kube::ApiError(created.status, "creating lease: HTTP " + std::to_string(created.status));
            if (created.ok()) {
                exists_ = true;
                resource_version_ = std::string(created.json().at("metadata").at("resourceVersion").as_string());
                spdlog::info("node={} lease created", name_);
            }
            co_return;
        } else {
            throw kube::ApiError(got.status, "reading lease: HTTP " + std::to_string(got.status));
        }
    }
    lease["metadata"].as_object()["resourceVersion"] = resource_version_;
    const auto res = co_await client_->request(verb::put, path, json::serialize(lease));
    if (res.status == 409 || res.status == 404) {
        exists_ = false;  // someone else wrote it, or it is gone: read it again now
        co_return co_await renew_once();
    }
    if (!res.ok()) throw kube::ApiError(res.status, "renewing lease: HTTP " + std::to_string(res.status));
    resource_version_ = std::string(res.json().at("metadata").at("resourceVersion").as_string());
    spdlog::debug("node={} lease renewed", name_);
}

asio::awaitable<void> LeaseKeeper::loop() {
    bool failing = false;
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        try {
            co_await renew_once();
            if (failing) spdlog::info("node={} lease renewals work again", name_);
            failing = false;
        } catch (const std::exception &e) {
            if (!failing) spdlog::warn("node={} lease renewal failed: {}", name_, e.what());
            failing = true;
        }
        // A fixed cadence from the previous start, so slow calls do not push renewals later.
        next += failing ? 2s : 10s;
        const auto now = std::chrono::steady_clock::now();
        if (next < now) next = now;
        co_await sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(next - now));
    }
}

}  // namespace systemk::node
