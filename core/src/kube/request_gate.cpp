#include "kube/request_gate.h"

#include <algorithm>

namespace systemk::kube {

using namespace std::chrono_literals;

RequestGate::RequestGate(asio::any_io_executor executor, double qps, double burst, std::size_t max_in_flight)
    : executor_(executor), qps_(std::max(qps, 0.001)), burst_(std::max(burst, 1.0)), tokens_(burst_),
      max_in_flight_(std::max<std::size_t>(max_in_flight, 1)), refill_timer_(executor) {}

void RequestGate::refill() {
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
    last_ = now;
}

bool RequestGate::can_admit(bool hold_slot) const {
    return tokens_ >= 1 && (!hold_slot || in_flight_ < max_in_flight_);
}

void RequestGate::admit(bool hold_slot) {
    tokens_ -= 1;
    if (hold_slot) ++in_flight_;
}

asio::awaitable<void> RequestGate::enter(Priority priority, bool hold_slot) {
    auto waiter = std::make_shared<Waiter>(executor_, hold_slot);
    waiter->wake.expires_at(std::chrono::steady_clock::time_point::max());
    queues_[static_cast<int>(priority)].push_back(waiter);
    pump();  // admits it at once when nobody is ahead and a token and a slot are free
    while (!waiter->admitted) co_await waiter->wake.async_wait(asio::as_tuple(asio::use_awaitable));
}

void RequestGate::leave() {
    if (in_flight_ > 0) --in_flight_;
    pump();
}

void RequestGate::pump() {
    for (;;) {
        if (queues_[0].empty() && queues_[1].empty()) return;
        refill();
        if (tokens_ < 1) {
            if (!refill_armed_) {
                refill_armed_ = true;
                refill_timer_.expires_after(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::duration<double>((1 - tokens_) / qps_)) + 100us);
                // Only the destructor cancels this timer: then the gate is gone, touch nothing.
                refill_timer_.async_wait([this](const boost::system::error_code &ec) {
                    if (ec) return;
                    refill_armed_ = false;
                    pump();
                });
            }
            return;
        }
        // The first waiter, normal before low and in arrival order, that can go: the first one
        // of all while slots are free; otherwise the first that needs no slot (a watch).
        std::deque<std::shared_ptr<Waiter>> *queue = nullptr;
        std::deque<std::shared_ptr<Waiter>>::iterator next;
        for (auto &q : queues_) {
            next = std::find_if(q.begin(), q.end(), [&](const auto &w) { return can_admit(w->hold_slot); });
            if (next != q.end()) {
                queue = &q;
                break;
            }
        }
        if (!queue) return;  // out of slots: leave() pumps again when a request finishes
        const auto waiter = *next;
        queue->erase(next);
        admit(waiter->hold_slot);
        waiter->admitted = true;
        waiter->wake.cancel();
    }
}

}  // namespace systemk::kube
