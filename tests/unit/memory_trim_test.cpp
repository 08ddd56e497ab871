#include "util/memory_trim.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

using namespace std::chrono_literals;

// A burst of activity ends in one trim, not one per event.
TEST(IdleMemoryTrimmer, ABurstEndsInOneTrim) {
    boost::asio::io_context io;
    systemk::util::IdleMemoryTrimmer trimmer(io, 5ms);
    for (int i = 0; i < 100; ++i) trimmer.activity();
    io.run();
    EXPECT_EQ(trimmer.trims(), 1u);
    // Later activity trims again.
    trimmer.activity();
    io.restart();
    io.run();
    EXPECT_EQ(trimmer.trims(), 2u);
}

// Activity while waiting pushes the trim back: it still happens once, after the last event.
TEST(IdleMemoryTrimmer, ActivityWhileWaitingDelaysTheTrim) {
    boost::asio::io_context io;
    systemk::util::IdleMemoryTrimmer trimmer(io, 20ms);
    trimmer.activity();
    boost::asio::post(io, [&] { trimmer.activity(); });
    io.run();
    EXPECT_EQ(trimmer.trims(), 1u);
}

TEST(IdleMemoryTrimmer, NothingHappensWithoutActivity) {
    boost::asio::io_context io;
    systemk::util::IdleMemoryTrimmer trimmer(io, 1ms);
    io.run();
    EXPECT_EQ(trimmer.trims(), 0u);
}
