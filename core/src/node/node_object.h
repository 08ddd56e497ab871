#pragma once
// The Node object systemk registers and the status it reports, as API JSON.
#include <boost/json.hpp>

#include <string>

#include "node/addresses.h"
#include "node/host_info.h"

namespace systemk::node {

struct NodeSettings {
    std::string name;
    NodeAddresses addresses;
    bool taint = true;
    int kubelet_port = 10250;
    int64_t max_pods = 110;
    std::string agent_version;    // systemk's version
    std::string systemd_version;  // empty if systemd does not answer
};

inline constexpr const char *kTaintKey = "virtual-kubelet.io/provider";
inline constexpr const char *kTaintValue = "systemk";

// Labels a node may set on itself under NodeRestriction.
boost::json::object node_labels(const NodeSettings &s, const HostInfo &h);
// The object to POST when the node does not exist yet (no status: the server ignores it).
boost::json::object new_node(const NodeSettings &s, const HostInfo &h);

struct Readiness {
    bool ready = false;
    std::string reason;   // KubeletReady / KubeletNotReady
    std::string message;
};

// status for PATCH nodes/<name>/status. `now` is RFC 3339; `ready_since` is the
// lastTransitionTime of the current Ready value.
boost::json::object node_status(const NodeSettings &s, const HostInfo &h, const Readiness &r, const std::string &now,
                                const std::string &ready_since);

// The status without heartbeat times, to decide whether anything changed.
std::string status_fingerprint(const boost::json::object &status);

std::string rfc3339_now();
std::string rfc3339_micro_now();  // MicroTime, for Lease renewTime

}  // namespace systemk::node
