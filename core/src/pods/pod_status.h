#pragma once
// A pod's API status from what the agent knows (pure functions, the kubelet's
// generateAPIPodStatus/getPhase): each container's state from its unit, the pod phase from the
// container states, and the conditions the node owns with transition times that only move when
// a condition's status changes.
#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "systemd/unit_control.h"

namespace systemk::pods {

// What the agent knows about one container when the status is computed.
struct ContainerView {
    std::string name, image, unit;
    bool init = false;
    // Its unit as last read; nullopt when it has no unit yet (not prepared) or the read failed.
    std::optional<systemd::UnitState> unit_state;
    // Set when the container cannot start (config error, image error, systemd refused): it waits.
    std::string waiting_reason, waiting_message;
    int restart_count = 0;
    boost::json::value last_state = boost::json::object{};  // lastState to report
    bool will_restart = false;         // finished, and the restart policy starts it again
    std::chrono::seconds backoff{0};   // the wait before that restart
    // Ran before, per the API status, and must not run again (restartPolicy Never after a
    // reboot): report this final state instead of starting it.
    std::optional<boost::json::object> final_state;
    // The container's status as reported before: reused when its unit could not be read.
    std::optional<boost::json::object> previous;
};

struct PodView {
    std::string name, ns, uid;
    std::string restart_policy = "Always";
    std::string host_ip;
    std::string start_time;
    std::string reason, message;  // pod-level (empty: none)
    std::vector<ContainerView> containers;  // init containers first, in order
};

// One container's status entry (name, state, lastState, ready, started, restartCount, ...).
boost::json::object container_status(const ContainerView &c);

// The kubelet's getPhase over computed container statuses.
std::string pod_phase(const std::string &restart_policy, const boost::json::array &init_statuses,
                      const boost::json::array &statuses);

// The conditions the node owns (Initialized, ContainersReady, Ready); a condition keeps its
// lastTransitionTime from `previous` (the pod's current conditions) while its status is the same.
boost::json::array node_conditions(bool initialized, bool containers_ready, const std::string &phase,
                                   const boost::json::array *previous, const std::string &now);

// The whole status the node writes. `previous` is the pod's status as the API has it.
boost::json::object compute_pod_status(const PodView &view, const boost::json::object *previous, const std::string &now);

// The container's final state when it is not rerun: its terminated state from the API status,
// or, when the API last saw it running, ContainerStatusUnknown (the kubelet's answer for a
// container that vanished). nullopt when the API status says it never ran.
std::optional<boost::json::object> state_from_api(const boost::json::object &api_container_status);

}  // namespace systemk::pods
