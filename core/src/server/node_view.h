#pragma once
// What the kubelet API sees of the agent. Every function may be called from the API's own
// thread: the pod cache is read under its lock, and a unit's state is asked on the agent's
// event loop without blocking either side.
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace systemk::server {

// The current run of a container's unit.
struct UnitRun {
    std::string invocation_id;  // "" before the unit's first start
    bool running = false;       // its process runs (or is about to): more output may come
};

struct NodeView {
    std::string node_name;
    // A copy of the pod "namespace/name" bound to this node, if there is one.
    std::function<std::optional<boost::json::object>(const std::string &key)> pod;
    std::function<std::vector<boost::json::object>()> pods;
    // The unit's current run, or nullopt when systemd cannot be asked now.
    std::function<boost::asio::awaitable<std::optional<UnitRun>>(const std::string &unit)> current_run;
    // The agent's own metrics in Prometheus text format (/metrics); empty function: none.
    std::function<std::string()> agent_metrics;
    // stats/v1alpha1 Summary as JSON (/stats/summary) and the resource metrics in Prometheus
    // text (/metrics/resource). They run on the API's thread and may wait there (a CPU rate
    // needs two samples); empty functions: not served (404).
    std::function<boost::asio::awaitable<std::string>()> stats_summary;
    std::function<boost::asio::awaitable<std::string>()> resource_metrics;
};

}  // namespace systemk::server
