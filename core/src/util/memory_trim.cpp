#include "util/memory_trim.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

namespace systemk::util {

IdleMemoryTrimmer::IdleMemoryTrimmer(boost::asio::io_context &io, std::chrono::milliseconds quiet)
    : timer_(io), quiet_(quiet) {}

IdleMemoryTrimmer::~IdleMemoryTrimmer() { *alive_ = false; }

void IdleMemoryTrimmer::activity() {
    deadline_ = std::chrono::steady_clock::now() + quiet_;
    if (!armed_) arm();
}

void IdleMemoryTrimmer::arm() {
    // One timer wait per quiet period, not one timer operation per event: when it fires early
    // (activity went on), it waits again for the later deadline.
    armed_ = true;
    timer_.expires_at(deadline_);
    timer_.async_wait([this, alive = alive_](const boost::system::error_code &ec) {
        if (ec || !*alive) return;
        if (std::chrono::steady_clock::now() < deadline_) return arm();
        armed_ = false;
        const auto before = ::mallinfo2();
        ::malloc_trim(0);
        ++trims_;
        spdlog::debug("memory: {} KiB in use, {} KiB free kept after trimming ({} KiB free before)",
                      before.uordblks / 1024, ::mallinfo2().fordblks / 1024, before.fordblks / 1024);
    });
}

void limit_malloc_arenas() { ::mallopt(M_ARENA_MAX, 2); }

}  // namespace systemk::util
