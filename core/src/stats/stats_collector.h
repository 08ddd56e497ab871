#pragma once
// Reads one snapshot of the node and its pods' units for /stats/summary and /metrics/resource.
// Lives on the kubelet API's thread: the pod cache is read through its locked getter, the
// cgroup and proc files directly (no systemd call), so a scrape never touches the agent's loop.
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pods/node_context.h"
#include "stats/cgroup_usage.h"
#include "stats/cpu_rate.h"
#include "stats/summary.h"

namespace systemk::stats {

class StatsCollector {
public:
    using PodList = std::function<std::vector<boost::json::object>()>;
    StatsCollector(pods::NodeContext node, PodList pods, CgroupReader cgroups = CgroupReader());

    // The summary; the first call waits a second so that CPU rates have a window.
    boost::asio::awaitable<std::string> summary();
    // Cumulative counters only: answers at once.
    boost::asio::awaitable<std::string> resource_metrics();

    // One snapshot now; `rates_missing` is set when a running container has no CPU rate yet.
    Snapshot read(bool &rates_missing);

private:
    PodSample read_pod(const boost::json::object &pod, CpuRateTracker::Clock::time_point now, std::set<std::string> &seen,
                       bool &rates_missing);
    DirectoryUsage volume_usage(const std::string &dir);

    pods::NodeContext node_;
    PodList pods_;
    CgroupReader cgroups_;
    CpuRateTracker rates_;
    // Walking a large emptyDir is not free: its size is re-read at most once a minute, as the
    // kubelet's volume stats do.
    struct CachedUsage {
        std::chrono::steady_clock::time_point at;
        DirectoryUsage usage;
    };
    std::map<std::string, CachedUsage> volume_cache_;
};

}  // namespace systemk::stats
