#include "kube/informer.h"

#include <spdlog/spdlog.h>

#include "metrics/agent_metrics.h"

#include <random>

namespace systemk::kube {
namespace {

using namespace std::chrono_literals;
constexpr auto kMaxBackoff = 5s;

std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> factor(0.8, 1.2);
    return std::chrono::milliseconds(static_cast<long>(base.count() * factor(rng)));
}

std::string resource_version_of(const boost::json::object &obj) {
    const auto *meta = obj.if_contains("metadata");
    if (!meta || !meta->is_object()) return {};
    const auto *rv = meta->get_object().if_contains("resourceVersion");
    return (rv && rv->is_string()) ? std::string(rv->get_string()) : std::string();
}

// The agent never reads managedFields, and they are often the largest part of a pod: keeping
// them would cost a node with many pods megabytes.
boost::json::object without_managed_fields(boost::json::object obj) {
    if (auto *meta = obj.if_contains("metadata"); meta && meta->is_object()) meta->get_object().erase("managedFields");
    return obj;
}

}  // namespace

Informer::Informer(ApiClient &client, std::string collection, std::string selector, ObjectCache &cache, std::string label)
    : client_(client), collection_(std::move(collection)), selector_(std::move(selector)), label_(std::move(label)),
      cache_(cache) {}

std::string Informer::query(bool watching) const {
    std::string q = collection_ + "?";
    if (!selector_.empty()) q += selector_ + "&";
    if (watching) {
        // Server-side timeout with jitter spreads reconnects of many nodes.
        static thread_local std::mt19937 rng{std::random_device{}()};
        const int timeout = 240 + static_cast<int>(rng() % 120);
        q += "watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout) +
             "&resourceVersion=" + url_encode(resource_version_);
    } else {
        q += "limit=500";
    }
    return q;
}

asio::awaitable<void> Informer::list() {
    std::vector<boost::json::object> items;
    std::string cont;
    std::string rv;
    do {
        auto target = query(false);
        if (!cont.empty()) target += "&continue=" + url_encode(cont);
        const auto res = co_await client_.request(http::verb::get, target);
        if (!res.ok()) throw ApiError(res.status, "listing " + label_ + " failed with HTTP " + std::to_string(res.status) +
                                                      ": " + res.body.substr(0, 300));
        const auto body = res.json().as_object();
        for (const auto &item : body.at("items").as_array()) items.push_back(without_managed_fields(item.as_object()));
        const auto &meta = body.at("metadata").as_object();
        rv = meta.contains("resourceVersion") ? std::string(meta.at("resourceVersion").as_string()) : "";
        cont = meta.contains("continue") ? std::string(meta.at("continue").as_string()) : "";
    } while (!cont.empty());
    if (stopped_) co_return;
    owned_ = cache_.replace(owned_, items);
    resource_version_ = rv;
    relist_ = false;
    metrics::informer_list(collection_);
    if (!synced_) spdlog::info("informer={} synced objects={}", label_, items.size());
    synced_ = true;
    rejection_.clear();
}

void Informer::handle_event(std::string_view line) {
    if (stopped_) return;
    boost::system::error_code ec;
    const auto event = boost::json::parse(line, ec);
    if (ec || !event.is_object()) {
        spdlog::warn("informer={} ignored a malformed watch event", label_);
        return;
    }
    const auto &e = event.get_object();
    const auto *type = e.if_contains("type");
    const auto *object = e.if_contains("object");
    if (!type || !type->is_string() || !object || !object->is_object()) return;
    const auto &obj = object->get_object();
    const std::string_view t = type->get_string();
    if (t == "ERROR") {
        const auto *code = obj.if_contains("code");
        if (code && code->is_int64() && code->get_int64() == 410) {
            spdlog::info("informer={} resourceVersion expired (410 Gone); relisting", label_);
            metrics::watch_restart(collection_, "expired");
            relist_ = true;
        } else {
            spdlog::warn("informer={} watch error: {}", label_, boost::json::serialize(obj).substr(0, 300));
            metrics::watch_restart(collection_, "error");
            relist_ = true;
        }
        return;
    }
    if (const auto rv = resource_version_of(obj); !rv.empty()) resource_version_ = rv;
    if (t == "ADDED" || t == "MODIFIED") {
        owned_.insert(object_key(obj));
        cache_.upsert(without_managed_fields(obj));
    } else if (t == "DELETED") {
        owned_.erase(object_key(obj));
        cache_.erase(object_key(obj));
    }
    // BOOKMARK: only the resourceVersion moves.
}

asio::awaitable<void> Informer::watch() {
    co_await client_.stream(
        query(true), [this](std::string_view line) { handle_event(line); }, std::chrono::seconds(420));
}

asio::awaitable<void> Informer::run() {
    auto self = shared_from_this();  // stays alive while the coroutine runs
    auto backoff = std::chrono::milliseconds(500);
    bool failing = false;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stopped_) {
        try {
            if (resource_version_.empty() || relist_) co_await list();
            if (stopped_) break;
            co_await watch();
            if (!relist_) metrics::watch_restart(collection_, "closed");  // (an ERROR event counted itself)
            if (failing) spdlog::info("informer={} reconnected", label_);
            rejection_.clear();
            failing = false;
            backoff = std::chrono::milliseconds(500);
            continue;
        } catch (const ApiError &e) {
            if (e.status() == 410) {
                metrics::watch_restart(collection_, "expired");
                relist_ = true;
                continue;
            }
            metrics::watch_restart(collection_, "error");
            if (e.tls_verification_failed() || e.status() == 401) rejection_ = e.what();
            if (!failing) spdlog::warn("informer={} {}; retrying with backoff", label_, e.what());
            else spdlog::debug("informer={} still failing: {}", label_, e.what());
            failing = true;
        } catch (const std::exception &e) {
            spdlog::error("informer={} unexpected error: {}", label_, e.what());
            metrics::watch_restart(collection_, "error");
            failing = true;
            relist_ = true;
        }
        timer.expires_after(jittered(backoff));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
    }
}

}  // namespace systemk::kube
