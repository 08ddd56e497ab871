#include <gtest/gtest.h>

#include "engine_fakes.h"
#include "pods/work_queue.h"

using namespace systemk;
using namespace systemk::testing;

TEST(WorkQueue, OneWorkerPerKeyManyKeysAtOnceAndAddsWhileRunningRunAgain) {
    asio::io_context io;
    std::map<std::string, int> runs;
    int concurrent = 0, max_concurrent = 0;
    asio::steady_timer gate(io, std::chrono::steady_clock::time_point::max());
    pods::WorkQueue q(io.get_executor(), [&](std::string key) -> asio::awaitable<void> {
        ++runs[key];
        max_concurrent = std::max(max_concurrent, ++concurrent);
        co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
        --concurrent;
    });
    for (int i = 0; i < 10; ++i) q.add("k" + std::to_string(i));
    q.add("k0");
    q.add("k0");
    pump(io, [] { return false; }, 3);
    EXPECT_EQ(max_concurrent, 10);  // every key at once
    EXPECT_EQ(runs["k0"], 1);       // one worker per key
    gate.cancel();
    pump(io, [&] { return runs["k0"] == 2 && q.running() == 0; }, 50);
    gate.cancel();
    pump(io, [&] { return q.running() == 0; }, 50);
    EXPECT_EQ(runs["k0"], 2);  // the adds while it ran became exactly one more run
    EXPECT_EQ(runs["k1"], 1);
}
