// RequestGate: the rate limit, the cap on requests in flight, and status writes (normal) ahead
// of Events (low). Order and counts only: no assertion depends on how fast the machine is.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kube/request_gate.h"

using namespace systemk::kube;
namespace asio = boost::asio;

namespace {

// Enters the gate, records the order of admission, holds the slot until `release` fires.
asio::awaitable<void> request(RequestGate &gate, Priority priority, std::string name, std::vector<std::string> &order,
                              asio::steady_timer *release = nullptr) {
    co_await gate.enter(priority);
    order.push_back(name);
    if (release) co_await release->async_wait(asio::as_tuple(asio::use_awaitable));
    gate.leave();
}

}  // namespace

TEST(RequestGate, NormalRequestsGoAheadOfWaitingLowOnes) {
    asio::io_context io;
    // One token in the bucket, then one every 100 ms: everything after the first waits.
    RequestGate gate(io.get_executor(), 10, 1, 8);
    std::vector<std::string> order;
    for (int i = 0; i < 3; ++i)
        asio::co_spawn(io, request(gate, Priority::low, "event" + std::to_string(i), order), asio::detached);
    for (int i = 0; i < 3; ++i)
        asio::co_spawn(io, request(gate, Priority::normal, "status" + std::to_string(i), order), asio::detached);
    io.run();
    // The first event took the only token; then every status write before the other events.
    EXPECT_EQ(order, (std::vector<std::string>{"event0", "status0", "status1", "status2", "event1", "event2"}));
}

TEST(RequestGate, AtMostMaxInFlightHoldAConnection) {
    asio::io_context io;
    RequestGate gate(io.get_executor(), 1e6, 1e6, 2);
    std::vector<std::string> order;
    asio::steady_timer release(io, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 5; ++i)
        asio::co_spawn(io, request(gate, Priority::normal, std::to_string(i), order, &release), asio::detached);
    io.poll();
    EXPECT_EQ(order.size(), 2u);
    EXPECT_EQ(gate.in_flight(), 2u);
    EXPECT_EQ(gate.waiting(), 3u);
    // A watch takes a token but no slot: it is not held back by the requests in flight.
    bool watch_admitted = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await gate.enter(Priority::normal, false);
            watch_admitted = true;
        },
        asio::detached);
    io.poll();
    EXPECT_TRUE(watch_admitted);
    // From now on every request finishes at once: the others follow two by two.
    release.expires_at(std::chrono::steady_clock::time_point::min());
    io.run();
    EXPECT_EQ(order, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
    EXPECT_EQ(gate.in_flight(), 0u);
    EXPECT_EQ(gate.waiting(), 0u);
}

TEST(RequestGate, BurstPassesAtOnceThenTheRateHolds) {
    asio::io_context io;
    RequestGate gate(io.get_executor(), 2, 3, 8);  // a token every 500 ms after the burst
    std::vector<std::string> order;
    for (int i = 0; i < 5; ++i)
        asio::co_spawn(io, request(gate, Priority::normal, std::to_string(i), order), asio::detached);
    io.poll();
    EXPECT_EQ(order.size(), 3u) << "the burst passes without waiting; the rest waits for tokens";
    io.run();
    EXPECT_EQ(order.size(), 5u);
}
