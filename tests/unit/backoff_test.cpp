#include <gtest/gtest.h>

#include "pods/backoff.h"

using namespace systemk::pods;
using namespace std::chrono_literals;

TEST(CrashBackoff, FirstRestartImmediateThenDoublesToTheCap) {
    CrashBackoff b;
    const auto t0 = CrashBackoff::clock::time_point{} + 1h;
    std::vector<std::chrono::seconds> waits;
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(b.observe_exit("inv" + std::to_string(i), 1s, t0));
        waits.push_back(b.last_wait());
        EXPECT_EQ(b.next_start(), t0 + b.last_wait());
    }
    const std::vector<std::chrono::seconds> expected{0s, 10s, 20s, 40s, 80s, 160s, 300s, 300s};
    EXPECT_EQ(waits, expected);
}

TEST(CrashBackoff, OneInvocationCountsOnce) {
    CrashBackoff b;
    const auto t0 = CrashBackoff::clock::time_point{} + 1h;
    EXPECT_TRUE(b.observe_exit("a", 1s, t0));
    EXPECT_TRUE(b.observe_exit("b", 1s, t0));
    const auto wait = b.last_wait();
    // The same run seen again (a second signal, a resync) neither doubles nor skips the wait.
    EXPECT_FALSE(b.observe_exit("b", 1s, t0 + 5s));
    EXPECT_FALSE(b.observe_exit("b", 1s, t0 + 50s));
    EXPECT_EQ(b.last_wait(), wait);
    EXPECT_EQ(b.next_start(), t0 + wait);
}

TEST(CrashBackoff, ALongRunResetsIt) {
    CrashBackoff b;
    const auto t0 = CrashBackoff::clock::time_point{} + 1h;
    for (int i = 0; i < 5; ++i) b.observe_exit("x" + std::to_string(i), 1s, t0);
    EXPECT_GT(b.last_wait(), 0s);
    EXPECT_TRUE(b.observe_exit("long", 11min, t0));
    EXPECT_EQ(b.last_wait(), 0s);
    EXPECT_TRUE(b.observe_exit("next", 1s, t0));
    EXPECT_EQ(b.last_wait(), 10s);
}
