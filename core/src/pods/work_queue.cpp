#include "pods/work_queue.h"

#include <spdlog/spdlog.h>

#include "metrics/agent_metrics.h"

namespace systemk::pods {

namespace asio = boost::asio;
using namespace std::chrono_literals;

WorkQueue::WorkQueue(asio::any_io_executor executor, Worker worker, size_t max_running)
    : executor_(std::move(executor)), worker_(std::move(worker)), max_running_(max_running) {}

WorkQueue::~WorkQueue() { *alive_ = false; }

void WorkQueue::add(const std::string &key) {
    if (running_.count(key)) {
        dirty_.insert(key);
        publish_depth();
        return;
    }
    if (queued_.count(key)) return;
    if (running_.size() >= max_running_) {
        waiting_.push_back(key);
        queued_.insert(key);
        publish_depth();
        return;
    }
    launch(key);
}

void WorkQueue::add_after(const std::string &key, std::chrono::milliseconds delay) {
    const auto when = std::chrono::steady_clock::now() + delay;
    auto &timer = timers_[key];
    if (timer && timer->expiry() <= when) return;  // an earlier wake-up is pending
    if (!timer) timer = std::make_unique<asio::steady_timer>(executor_);
    timer->expires_at(when);
    timer->async_wait([this, key, alive = alive_, when](const boost::system::error_code &ec) {
        if (ec || !*alive) return;
        if (auto it = timers_.find(key); it != timers_.end() && it->second->expiry() == when) timers_.erase(it);
        add(key);
    });
}

void WorkQueue::launch(const std::string &key) {
    running_.insert(key);
    publish_depth();
    asio::co_spawn(executor_, worker_(key), [this, key, alive = alive_](std::exception_ptr e) {
        if (!*alive) return;
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception &x) {
                spdlog::error("pod={} worker failed: {}; retrying in 5 s", key, x.what());
            }
            add_after(key, 5s);
        }
        finished(key);
    });
}

void WorkQueue::finished(const std::string &key) {
    running_.erase(key);
    if (dirty_.erase(key)) {
        launch(key);
        return;
    }
    while (!waiting_.empty() && running_.size() < max_running_) {
        const auto next = waiting_.front();
        waiting_.pop_front();
        queued_.erase(next);
        launch(next);
    }
    publish_depth();
}

// The agent has one queue, the pod workers': its gauges are the process's.
void WorkQueue::publish_depth() const { metrics::pod_workers(running_.size(), waiting_.size() + dirty_.size()); }

}  // namespace systemk::pods
