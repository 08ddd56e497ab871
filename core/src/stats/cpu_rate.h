#pragma once
// CPU usage in nanocores from cumulative CPU time: the rate over the window since the last
// reading at least `min_window` old, as the kubelet reports usageNanoCores over its
// housekeeping interval. Readings closer together keep the last rate, so a burst of requests
// never reports the noise of a few milliseconds.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace systemk::stats {

class CpuRateTracker {
public:
    using Clock = std::chrono::steady_clock;
    explicit CpuRateTracker(Clock::duration min_window = std::chrono::seconds(1)) : min_window_(min_window) {}

    // Records `cumulative_ns` for `key` read at `now`; returns the rate, or nullopt when there
    // is no window yet (first reading, or the counter went back: a new cgroup).
    std::optional<uint64_t> observe(const std::string &key, Clock::time_point now, uint64_t cumulative_ns);
    // Forgets every key not in `keep` (containers gone).
    void retain(const std::set<std::string> &keep);
    size_t size() const { return readings_.size(); }

private:
    struct Reading {
        Clock::time_point at;
        uint64_t ns = 0;
        std::optional<uint64_t> rate;
    };
    Clock::duration min_window_;
    std::map<std::string, Reading> readings_;
};

}  // namespace systemk::stats
