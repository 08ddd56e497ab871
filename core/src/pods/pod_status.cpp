#include "pods/pod_status.h"

#include "pods/container_status.h"

namespace systemk::pods {

namespace {

namespace json = boost::json;

const json::object *object_at(const json::object &o, const char *key) {
    const auto *v = o.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

std::string string_at(const json::object &o, const char *key) {
    const auto *v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t exit_code_of(const json::object &terminated) {
    const auto *v = terminated.if_contains("exitCode");
    return v && v->is_int64() ? v->get_int64() : (v && v->is_uint64() ? static_cast<int64_t>(v->get_uint64()) : 0);
}

}  // namespace

json::object container_status(const ContainerView &c) {
    json::object cs{{"name", c.name},   {"image", c.image},        {"imageID", ""},
                    {"restartCount", c.restart_count}, {"lastState", c.last_state}, {"ready", false},
                    {"started", false}};
    json::object state;
    const auto *s = c.unit_state ? &*c.unit_state : nullptr;
    const bool running = s && unit_running(*s);
    if (!c.waiting_reason.empty() && !running) {
        json::object w{{"reason", c.waiting_reason}};
        if (!c.waiting_message.empty()) w["message"] = c.waiting_message;
        state["waiting"] = w;
    } else if (running) {
        cs["containerID"] = "systemd://" + c.unit;
        const auto started = rfc3339_from_usec(s->started_usec);
        state["running"] = started.empty() ? json::object{} : json::object{{"startedAt", started}};
        // Running from the fork on, but started and ready only once systemd says the service has
        // started ("active"): Type=exec has executed the command (the sandbox is built before
        // that), Type=notify has sent READY=1, Type=forking's parent has exited. Until then no
        // Service sends it traffic. A oneshot unit (an init container, a package's oneshot
        // service) is "activating" for as long as its process runs: that is its run.
        const bool up = s->active_state != "activating" || s->service_type == "oneshot";
        cs["started"] = up || c.init;
        cs["ready"] = up && !c.init;
    } else if (const auto t = s ? termination_of(*s) : std::nullopt; t) {
        cs["containerID"] = "systemd://" + c.unit;
        if (c.will_restart) {
            state["waiting"] = json::object{
                {"reason", c.backoff.count() > 0 ? "CrashLoopBackOff" : "ContainerCreating"},
                {"message", "back-off " + std::to_string(c.backoff.count()) + "s restarting failed container=" + c.name}};
            cs["lastState"] = json::object{{"terminated", terminated_json(*t, c.unit)}};
        } else {
            state["terminated"] = terminated_json(*t, c.unit);
            // The kubelet's rule: an init container that succeeded is ready.
            cs["ready"] = c.init && t->exit_code == 0;
        }
    } else if (c.final_state) {
        state = *c.final_state;
        if (const auto *term = object_at(state, "terminated")) {
            if (const auto id = string_at(*term, "containerID"); !id.empty()) cs["containerID"] = id;
            cs["ready"] = c.init && exit_code_of(*term) == 0;
        }
    } else if ((!s || s->busy()) && c.previous) {
        return *c.previous;  // unknown or changing right now: say what we said before
    } else {
        state["waiting"] = json::object{{"reason", "ContainerCreating"}};
    }
    cs["state"] = state;
    return cs;
}

std::string pod_phase(const std::string &restart_policy, const json::array &init_statuses, const json::array &statuses) {
    int pending_init = 0, failed_init = 0;
    for (const auto &v : init_statuses) {
        const auto &cs = v.as_object();
        const auto *state = object_at(cs, "state");
        const auto *term = state ? object_at(*state, "terminated") : nullptr;
        if (term && exit_code_of(*term) == 0) continue;
        ++pending_init;
        if (term) ++failed_init;
        // A failing init container that will restart reports waiting with lastState terminated.
        if (const auto *last = object_at(cs, "lastState"); last && object_at(*last, "terminated")) ++failed_init;
    }
    if (failed_init > 0 && restart_policy == "Never") return "Failed";
    int waiting = 0, running = 0, stopped = 0, succeeded = 0;
    for (const auto &v : statuses) {
        const auto &cs = v.as_object();
        const auto *state = object_at(cs, "state");
        if (!state) {
            ++waiting;
            continue;
        }
        if (object_at(*state, "running")) {
            ++running;
        } else if (const auto *term = object_at(*state, "terminated")) {
            ++stopped;
            if (exit_code_of(*term) == 0) ++succeeded;
        } else {
            const auto *last = object_at(cs, "lastState");
            if (last && object_at(*last, "terminated")) ++stopped;
            else ++waiting;
        }
    }
    if (pending_init > 0 || waiting > 0) return "Pending";
    if (running > 0) return "Running";
    if (stopped > 0) {
        if (restart_policy == "Always") return "Running";
        if (stopped == succeeded) return "Succeeded";
        if (restart_policy == "Never") return "Failed";
        return "Running";
    }
    return "Pending";
}

json::array node_conditions(bool initialized, bool containers_ready, const std::string &phase,
                            const json::array *previous, const std::string &now) {
    const bool done = phase == "Succeeded" || phase == "Failed";
    struct Want {
        const char *type;
        bool value;
        const char *reason;
    };
    const Want wants[] = {
        {"Initialized", initialized, done && phase == "Succeeded" ? "PodCompleted" : "ContainersNotInitialized"},
        {"Ready", containers_ready, done ? "PodCompleted" : "ContainersNotReady"},
        {"ContainersReady", containers_ready, done ? "PodCompleted" : "ContainersNotReady"},
    };
    json::array out;
    for (const auto &w : wants) {
        const std::string status = w.value ? "True" : "False";
        std::string since = now;
        if (previous)
            for (const auto &pv : *previous) {
                if (!pv.is_object()) continue;
                const auto &p = pv.get_object();
                if (string_at(p, "type") == w.type && string_at(p, "status") == status) {
                    const auto t = string_at(p, "lastTransitionTime");
                    if (!t.empty()) since = t;
                }
            }
        json::object c{{"type", w.type}, {"status", status}, {"lastProbeTime", nullptr}, {"lastTransitionTime", since}};
        if (!w.value || done) c["reason"] = w.reason;
        out.push_back(c);
    }
    return out;
}

json::object compute_pod_status(const PodView &view, const json::object *previous, const std::string &now) {
    json::array init_statuses, statuses;
    bool all_ready = true;
    for (const auto &c : view.containers) {
        auto cs = container_status(c);
        if (c.init) {
            init_statuses.push_back(std::move(cs));
        } else {
            all_ready = all_ready && cs.at("ready").as_bool();
            statuses.push_back(std::move(cs));
        }
    }
    bool initialized = true;
    for (const auto &v : init_statuses) {
        const auto *state = object_at(v.as_object(), "state");
        const auto *term = state ? object_at(*state, "terminated") : nullptr;
        initialized = initialized && term && exit_code_of(*term) == 0;
    }
    const auto phase = pod_phase(view.restart_policy, init_statuses, statuses);
    const json::array *previous_conditions = nullptr;
    if (previous)
        if (const auto *pc = previous->if_contains("conditions"); pc && pc->is_array()) previous_conditions = &pc->get_array();
    std::string start_time = view.start_time;
    if (start_time.empty() && previous) start_time = string_at(*previous, "startTime");
    if (start_time.empty()) start_time = now;
    json::object status{{"phase", phase},
                        {"conditions", node_conditions(initialized, initialized && all_ready && !statuses.empty(), phase,
                                                       previous_conditions, now)},
                        {"hostIP", view.host_ip},
                        {"podIP", view.host_ip},
                        {"podIPs", json::array{json::object{{"ip", view.host_ip}}}},
                        {"startTime", start_time},
                        {"containerStatuses", statuses}};
    if (!init_statuses.empty()) status["initContainerStatuses"] = init_statuses;
    // Explicit nulls: a cleared pod-level error must be removed by the patch.
    status["reason"] = view.reason.empty() ? json::value(nullptr) : json::value(view.reason);
    status["message"] = view.message.empty() ? json::value(nullptr) : json::value(view.message);
    return status;
}

std::optional<json::object> state_from_api(const json::object &cs) {
    const auto *state = object_at(cs, "state");
    if (!state) return std::nullopt;
    if (const auto *term = object_at(*state, "terminated")) return json::object{{"terminated", *term}};
    if (object_at(*state, "running") || !string_at(cs, "containerID").empty()) {
        json::object t{{"exitCode", 137}, {"reason", "ContainerStatusUnknown"},
                       {"message", "The container could not be located when the pod was terminated"}};
        if (const auto id = string_at(cs, "containerID"); !id.empty()) t["containerID"] = id;
        return json::object{{"terminated", t}};
    }
    return std::nullopt;
}

}  // namespace systemk::pods
