#include "pods/status_manager.h"

#include <spdlog/spdlog.h>

namespace systemk::pods {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

bool terminal(const json::object &status) {
    const auto *p = status.if_contains("phase");
    return p && p->is_string() && (p->get_string() == "Succeeded" || p->get_string() == "Failed");
}

}  // namespace

StatusManager::StatusManager(asio::any_io_executor executor, PodApi &api, size_t writers)
    : executor_(std::move(executor)), api_(api), wake_(executor_, std::chrono::steady_clock::time_point::max()) {
    for (size_t i = 0; i < writers; ++i) asio::co_spawn(executor_, writer(), asio::detached);
}

StatusManager::~StatusManager() { *alive_ = false; }

void StatusManager::set(const std::string &key, const std::string &ns, const std::string &name, const std::string &uid,
                        json::object status) {
    auto &e = entries_[key];
    if (e.uid != uid) e = Entry{};  // a new pod under the same name starts from nothing
    if (e.terminal_written) return;
    e.ns = ns;
    e.name = name;
    e.uid = uid;
    e.desired_text = json::serialize(status);
    e.desired = std::move(status);
    if (e.desired_text == e.written_text || e.queued) return;
    e.queued = true;
    queue_.push_back(key);
    wake();
}

void StatusManager::forget(const std::string &key) { entries_.erase(key); }

const json::object *StatusManager::latest(const std::string &key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() || it->second.desired_text.empty() ? nullptr : &it->second.desired;
}

void StatusManager::wake() { wake_.cancel(); }

asio::awaitable<void> StatusManager::writer() {
    auto alive = alive_;
    for (;;) {
        while (*alive && queue_.empty()) {
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!*alive) co_return;
            if (wake_.expiry() != std::chrono::steady_clock::time_point::max())
                wake_.expires_at(std::chrono::steady_clock::time_point::max());
        }
        if (!*alive) co_return;
        const auto key = queue_.front();
        queue_.pop_front();
        co_await write(key);
        if (!*alive) co_return;
    }
}

asio::awaitable<void> StatusManager::write(const std::string &key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) co_return;
    it->second.queued = false;
    if (it->second.desired_text == it->second.written_text) co_return;
    const auto ns = it->second.ns, name = it->second.name, uid = it->second.uid, text = it->second.desired_text;
    const bool is_terminal = terminal(it->second.desired);
    // metadata.uid in the patch is a precondition: the API server refuses it (409) for another pod.
    const auto body = "{\"metadata\":{\"uid\":" + json::serialize(json::value(uid)) + "},\"status\":" + text + "}";
    unsigned status = 0;
    std::string error;
    try {
        std::string target = "/api/v1/namespaces/" + ns + "/pods/" + name + "/status",
                    content_type = "application/strategic-merge-patch+json";
        const auto res = co_await api_.request(kube::http::verb::patch, std::move(target), body, std::move(content_type));
        status = res.status;
        if (!res.ok()) error = "HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
    } catch (const std::exception &e) {
        error = e.what();
    }
    auto alive = alive_;
    if (!*alive) co_return;
    it = entries_.find(key);
    if (it == entries_.end() || it->second.uid != uid) co_return;  // forgotten or replaced meanwhile
    auto &e = it->second;
    if (status == 404 || status == 409) {  // the pod is gone, or it is another pod now
        spdlog::debug("pod={} status not written: HTTP {}", key, status);
        entries_.erase(it);
        co_return;
    }
    if (!error.empty()) {
        ++e.failures;
        const auto delay = std::min<std::chrono::milliseconds>(250ms * (1 << std::min(e.failures, 5)), 8s);
        spdlog::warn("pod={} status update failed: {}; retrying in {} ms", key, error, delay.count());
        auto timer = std::make_shared<asio::steady_timer>(executor_, delay);
        timer->async_wait([this, key, timer, alive](const boost::system::error_code &) {
            if (!*alive) return;
            auto it2 = entries_.find(key);
            if (it2 == entries_.end() || it2->second.queued) return;
            it2->second.queued = true;
            queue_.push_back(key);
            wake();
        });
        co_return;
    }
    ++writes_;
    e.failures = 0;
    e.written_text = text;
    if (is_terminal) e.terminal_written = true;
    if (e.desired_text != e.written_text && !e.queued) {  // changed while the write was in flight
        e.queued = true;
        queue_.push_back(key);
        wake();
    }
}

}  // namespace systemk::pods
