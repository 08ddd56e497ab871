#include "metrics/pod_metrics.h"

namespace systemk::metrics {
namespace {

namespace json = boost::json;

const json::object *object_at(const json::object &o, const char *key) {
    const auto *v = o.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array *array_at(const json::object *o, const char *key) {
    const auto *v = o ? o->if_contains(key) : nullptr;
    return v && v->is_array() ? &v->get_array() : nullptr;
}

// How many containers spec.<list> declares.
size_t spec_containers(const json::object *spec, const char *list) {
    const auto *a = array_at(spec, list);
    return a ? a->size() : 0;
}

}  // namespace

PodCounts count_pods(const std::vector<json::object> &pods) {
    PodCounts c;
    for (const char *phase : {"Pending", "Running", "Succeeded", "Failed", "Unknown"}) c.pods_by_phase[phase] = 0;
    for (const char *state : {"running", "waiting", "terminated"}) c.containers_by_state[state] = 0;
    for (const auto &pod : pods) {
        const auto *status = object_at(pod, "status");
        const auto *phase = status ? status->if_contains("phase") : nullptr;
        const std::string p = phase && phase->is_string() && !phase->get_string().empty()
                                  ? std::string(phase->get_string())
                                  : "Pending";
        ++c.pods_by_phase[p];
        const auto *spec = object_at(pod, "spec");
        for (const auto &[list, statuses] : {std::pair{"containers", "containerStatuses"},
                                             std::pair{"initContainers", "initContainerStatuses"}}) {
            size_t reported = 0;
            if (const auto *entries = array_at(status, statuses)) {
                for (const auto &entry : *entries) {
                    const auto *state = entry.is_object() ? object_at(entry.get_object(), "state") : nullptr;
                    std::string which = "waiting";
                    if (state && state->contains("running")) which = "running";
                    else if (state && state->contains("terminated")) which = "terminated";
                    ++c.containers_by_state[which];
                    ++reported;
                }
            }
            const size_t declared = spec_containers(spec, list);
            if (declared > reported) c.containers_by_state["waiting"] += static_cast<int>(declared - reported);
        }
    }
    return c;
}

void write_pod_metrics(TextWriter &out, const std::vector<json::object> &pods) {
    const auto c = count_pods(pods);
    out.family("systemk_pods", "gauge", "Pods bound to this node by phase (as the agent last reported it).");
    for (const auto &[phase, n] : c.pods_by_phase) out.sample("systemk_pods", {{"phase", phase}}, n);
    out.family("systemk_containers", "gauge",
               "Containers (init containers too) of the pods bound to this node by state: running, waiting, terminated.");
    for (const auto &[state, n] : c.containers_by_state) out.sample("systemk_containers", {{"state", state}}, n);
}

}  // namespace systemk::metrics
