#include "stats/cpu_rate.h"

namespace systemk::stats {

std::optional<uint64_t> CpuRateTracker::observe(const std::string &key, Clock::time_point now, uint64_t cumulative_ns) {
    auto it = readings_.find(key);
    if (it == readings_.end() || cumulative_ns < it->second.ns || now < it->second.at) {
        readings_[key] = Reading{now, cumulative_ns, std::nullopt};
        return std::nullopt;
    }
    auto &r = it->second;
    const auto window = now - r.at;
    if (window < min_window_) return r.rate;
    const auto window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
    const long double rate = static_cast<long double>(cumulative_ns - r.ns) * 1e9L / static_cast<long double>(window_ns);
    r = Reading{now, cumulative_ns, static_cast<uint64_t>(rate)};
    return r.rate;
}

void CpuRateTracker::retain(const std::set<std::string> &keep) {
    for (auto it = readings_.begin(); it != readings_.end();)
        it = keep.count(it->first) ? std::next(it) : readings_.erase(it);
}

}  // namespace systemk::stats
