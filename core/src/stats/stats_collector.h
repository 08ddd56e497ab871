#pragma once
// Reads one snapshot of the node and its pods' units for /stats/summary and /metrics/resource.
// Lives on the kubelet API's thread: the pod cache is read through its locked getter, the
// cgroup and proc files directly (no systemd call), so a scrape never touches the agent's loop.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
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

    // One snapshot now; `incomplete` is set when a running container has no CPU rate yet or a
    // volume has not been measured yet (a second later both will be there).
    Snapshot read(bool &incomplete);

private:
    PodSample read_pod(const boost::json::object &pod, CpuRateTracker::Clock::time_point now, std::set<std::string> &seen,
                       bool &incomplete);
    // The last walk's result for `dir` (nullopt before the first), starting a new walk when stale.
    std::optional<DirectoryUsage> volume_usage(const std::string &dir);

    pods::NodeContext node_;
    PodList pods_;
    CgroupReader cgroups_;
    CpuRateTracker rates_;
    // Walking a large emptyDir takes a while: it happens on a thread of its own (never the API's,
    // which streams logs) at most once a minute per volume, as the kubelet's volume stats do; a
    // volume shows up in the summary once its first walk is done.
    struct CachedUsage {
        std::chrono::steady_clock::time_point at;
        std::optional<DirectoryUsage> usage;
        bool walking = false;
    };
    std::mutex volume_mutex_;
    std::map<std::string, CachedUsage> volume_cache_;
    boost::asio::thread_pool walker_{1};
};

}  // namespace systemk::stats
