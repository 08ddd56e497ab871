#pragma once
// Pods and containers by state, counted at scrape time from the pods bound to this node (the
// agent's pod cache, which carries the status the agent published).
#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "metrics/text_format.h"

namespace systemk::metrics {

struct PodCounts {
    std::map<std::string, int> pods_by_phase;         // every phase, 0 when none
    std::map<std::string, int> containers_by_state;   // running, waiting, terminated
};

// Pods without a phase count as Pending; containers (init containers too) by the state in
// their status, and those without a status yet as waiting.
PodCounts count_pods(const std::vector<boost::json::object> &pods);

// systemk_pods{phase} and systemk_containers{state}.
void write_pod_metrics(TextWriter &out, const std::vector<boost::json::object> &pods);

}  // namespace systemk::metrics
