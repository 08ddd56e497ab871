#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace systemk::util {

// glibc keeps freed heap pages mapped: after 100 pods came and went the agent would hold their
// memory forever. Once activity has stopped for `quiet`, give the free pages back to the kernel
// (malloc_trim); nothing runs while the agent is idle, so this costs no idle CPU.
class IdleMemoryTrimmer {
public:
    IdleMemoryTrimmer(boost::asio::io_context &io, std::chrono::milliseconds quiet);
    ~IdleMemoryTrimmer();
    // Something allocated or freed a lot (a pod came or went, a unit changed).
    void activity();
    size_t trims() const { return trims_; }

private:
    void arm();
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point deadline_;
    std::chrono::milliseconds quiet_;
    bool armed_ = false;
    size_t trims_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Fewer malloc arenas for a mostly single-threaded daemon: each extra arena keeps its own free
// memory. Call before any thread starts.
void limit_malloc_arenas();

}  // namespace systemk::util
