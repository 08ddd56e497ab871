#pragma once
// Admission of API requests, shared by everything one ApiClient sends:
// - a token bucket (qps, burst) keeps the request rate polite, like client-go's rate limiter;
// - at most `max_in_flight` requests hold a connection at once, so a burst reuses a few
//   kept-alive connections instead of opening (and TLS-handshaking) one per request;
// - two priorities: a low-priority request (Events) is admitted only when no normal one waits,
//   so pod status writes never queue behind a burst of Events.
// Lives on the client's io_context thread (not thread-safe).
#include <boost/asio.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>

namespace systemk::kube {

namespace asio = boost::asio;

enum class Priority {
    normal,  // status writes, lists, node and lease updates: everything the pods wait on
    low,     // Events and other writes nobody waits on
};

class RequestGate {
public:
    RequestGate(asio::any_io_executor executor, double qps, double burst, std::size_t max_in_flight);

    // Waits for a token and, when `hold_slot`, a free connection slot; FIFO within a priority,
    // except that a request needing no slot (a watch) passes those waiting for a slot.
    // Every enter(..., true) must be followed by one leave() once the request finished or failed.
    asio::awaitable<void> enter(Priority priority, bool hold_slot = true);
    void leave();

    std::size_t in_flight() const { return in_flight_; }
    std::size_t waiting() const { return queues_[0].size() + queues_[1].size(); }

private:
    struct Waiter {
        explicit Waiter(asio::any_io_executor ex, bool slot) : wake(std::move(ex)), hold_slot(slot) {}
        asio::steady_timer wake;  // cancelled to wake the waiting coroutine
        bool hold_slot;
        bool admitted = false;
    };
    void refill();
    bool can_admit(bool hold_slot) const;
    void admit(bool hold_slot);
    void pump();  // admits queued waiters, highest priority first, while tokens and slots allow

    asio::any_io_executor executor_;
    double qps_, burst_, tokens_;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
    std::size_t max_in_flight_, in_flight_ = 0;
    std::deque<std::shared_ptr<Waiter>> queues_[2];  // index: Priority
    asio::steady_timer refill_timer_;
    bool refill_armed_ = false;
};

}  // namespace systemk::kube
