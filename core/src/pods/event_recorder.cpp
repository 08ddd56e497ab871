#include "pods/event_recorder.h"

#include <spdlog/spdlog.h>

#include "node/node_object.h"

namespace systemk::pods {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

}  // namespace

EventRecorder::EventRecorder(asio::any_io_executor executor, PodApi &api, std::string component, std::string host,
                             Limits limits, size_t writers)
    : executor_(std::move(executor)), api_(api), component_(std::move(component)), host_(std::move(host)),
      limits_(limits), wake_(executor_, std::chrono::steady_clock::time_point::max()) {
    for (size_t i = 0; i < writers; ++i) asio::co_spawn(executor_, writer(), asio::detached);
}

EventRecorder::~EventRecorder() { *alive_ = false; }

bool EventRecorder::take_token(const std::string &uid) {
    const auto now = std::chrono::steady_clock::now();
    auto [it, fresh] = buckets_.try_emplace(uid, Bucket{limits_.burst, now});
    auto &b = it->second;
    const double refill = std::chrono::duration<double>(now - b.last).count() /
                          std::chrono::duration<double>(limits_.refill_every).count();
    b.tokens = std::min(limits_.burst, b.tokens + refill);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

void EventRecorder::record(const EventObject &obj, const std::string &type, const std::string &reason,
                           const std::string &message) {
    const auto key = obj.uid + '\n' + type + '\n' + reason + '\n' + message;
    if (queue_.size() >= limits_.max_queue || !take_token(obj.uid)) {
        ++dropped_;
        spdlog::debug("pod={}/{} event {} dropped (rate limit)", obj.ns, obj.name, reason);
        return;
    }
    auto [it, fresh] = aggregates_.try_emplace(key);
    auto &a = it->second;
    if (fresh) {
        a.obj = obj;
        a.type = type;
        a.reason = reason;
        a.message = message;
        a.first = node::rfc3339_now();
        order_.push_back(key);
        while (order_.size() > limits_.max_remembered) {
            const auto &old = order_.front();
            if (auto o = aggregates_.find(old); o != aggregates_.end() && !o->second.queued && !o->second.in_flight)
                aggregates_.erase(o);
            order_.pop_front();
        }
    }
    ++a.count;
    a.last = node::rfc3339_now();
    if (!a.queued) {
        a.queued = true;
        queue_.push_back(key);
        wake_.cancel();
    }
}

void EventRecorder::forget(const std::string &uid) {
    buckets_.erase(uid);
    for (auto it = aggregates_.begin(); it != aggregates_.end();) {
        if (it->second.obj.uid == uid && !it->second.queued && !it->second.in_flight) it = aggregates_.erase(it);
        else ++it;
    }
}

asio::awaitable<void> EventRecorder::writer() {
    auto alive = alive_;
    for (;;) {
        while (queue_.empty()) {
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!*alive) co_return;
        }
        const auto key = queue_.front();
        queue_.pop_front();
        co_await write(key);
        if (!*alive) co_return;
    }
}

asio::awaitable<void> EventRecorder::write(const std::string &key) {
    auto it = aggregates_.find(key);
    if (it == aggregates_.end()) co_return;
    auto &a = it->second;
    a.queued = false;
    if (a.in_flight) {  // another writer has it: it will look again when done
        a.queued = true;
        queue_.push_back(key);
        co_return;
    }
    a.in_flight = true;
    const auto count = a.count;
    const auto ns = a.obj.ns;
    const bool create = a.event_name.empty();
    std::string target, body, content_type;
    if (create) {
        const json::object ev{
            {"apiVersion", "v1"},
            {"kind", "Event"},
            {"metadata", json::object{{"generateName", a.obj.name + "."}, {"namespace", a.obj.ns}}},
            {"involvedObject", json::object{{"kind", "Pod"}, {"namespace", a.obj.ns}, {"name", a.obj.name},
                                            {"uid", a.obj.uid}, {"apiVersion", "v1"}}},
            {"reason", a.reason},
            {"message", a.message},
            {"type", a.type},
            {"source", json::object{{"component", component_}, {"host", host_}}},
            {"firstTimestamp", a.first},
            {"lastTimestamp", a.last},
            {"count", count}};
        target = "/api/v1/namespaces/" + ns + "/events";
        body = json::serialize(ev);
        content_type = "application/json";
    } else {
        target = "/api/v1/namespaces/" + ns + "/events/" + a.event_name;
        body = json::serialize(json::object{{"count", count}, {"lastTimestamp", a.last}});
        content_type = "application/merge-patch+json";
    }
    kube::ApiResponse res;
    try {
        const auto method = create ? kube::http::verb::post : kube::http::verb::patch;
        res = co_await api_.request(method, target, body, content_type);
    } catch (const std::exception &e) {
        res.status = 0;
        res.body = e.what();
    }
    auto alive = alive_;
    if (!*alive) co_return;
    it = aggregates_.find(key);
    if (it == aggregates_.end()) co_return;
    auto &b = it->second;
    b.in_flight = false;
    if (res.ok()) {
        b.written_count = count;
        if (create) {
            try {
                b.event_name = std::string(res.json().at("metadata").at("name").as_string());
            } catch (const std::exception &) {
            }
        }
    } else if (!create && res.status == 404) {
        b.event_name.clear();  // expired (events have a TTL): create it again
        b.written_count = 0;
    } else {
        spdlog::warn("event {} for pod {}/{} not written: HTTP {} {}", b.reason, b.obj.ns, b.obj.name, res.status,
                     res.body.substr(0, 160));
        b.written_count = b.count;  // events are best effort: give up on this one
    }
    if (b.count != b.written_count && !b.queued) {
        b.queued = true;
        queue_.push_back(key);
        wake_.cancel();
    }
}

}  // namespace systemk::pods
