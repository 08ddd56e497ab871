#include "pods/reconciler.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>

#include "node/node_object.h"
#include "pods/cache_lookup.h"
#include "pods/container_files.h"
#include "pods/json_access.h"
#include "pods/pod_preparation.h"
#include "pods/spec_error.h"
#include "units/synthesis.h"
#include "units/unit_file.h"
#include "units/unit_name.h"

namespace systemk::pods {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using kube::http::verb;

constexpr auto kInitialBackoff = 10s;
constexpr auto kMaxBackoff = 300s;
constexpr auto kBackoffReset = 600s;

std::string str_at(const json::object &o, std::initializer_list<const char *> path) {
    const json::value *v = nullptr;
    const json::object *cur = &o;
    for (const char *key : path) {
        if (!cur) return {};
        v = cur->if_contains(key);
        if (!v) return {};
        cur = v->is_object() ? &v->get_object() : nullptr;
    }
    return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

bool is_terminal(const std::string &phase) { return phase == "Succeeded" || phase == "Failed"; }

json::object terminated_json(const Termination &t, const std::string &unit) {
    json::object o{{"exitCode", t.exit_code}, {"reason", t.reason}, {"containerID", "systemd://" + unit}};
    if (t.signal) o["signal"] = t.signal;
    if (!t.started_at.empty()) o["startedAt"] = t.started_at;
    if (!t.finished_at.empty()) o["finishedAt"] = t.finished_at;
    return o;
}

}  // namespace

Reconciler::Reconciler(asio::io_context &io, kube::ApiClient &client, systemd::UnitManager &units,
                       const plugins::PluginRegistry &plugins, NodeContext node, kube::ObjectCache &pods,
                       kube::ReferencedObjects &referenced)
    : io_(io), client_(client), units_(units), plugins_(plugins), node_(std::move(node)), pods_(pods),
      referenced_(referenced), wake_(io) {}

void Reconciler::enqueue(const std::string &key) {
    if (!started_) return;
    if (dirty_.insert(key).second) queue_.push_back(key);
    wake_.cancel();
}

void Reconciler::unit_changed(const std::string &unit) {
    if (auto it = unit_owner_.find(unit); it != unit_owner_.end()) {
        enqueue(it->second);
        return;
    }
    if (const auto id = units::parse_unit_name(unit); id && !id->pod_shortened) enqueue(id->namespace_ + "/" + id->pod);
}

void Reconciler::object_changed(const std::string &object_key) {
    const auto ns = object_key.substr(0, object_key.find('/'));
    for (const auto &[key, rt] : runtimes_)
        if (rt.ns == ns && !rt.prepared) enqueue(key);
}

const systemd::UnitState &Reconciler::unit_state(const std::string &unit) {
    auto it = state_cache_.find(unit);
    if (it == state_cache_.end()) it = state_cache_.emplace(unit, units_.state(unit)).first;
    return it->second;
}

void Reconciler::schedule(const std::string &key, std::chrono::milliseconds delay) {
    auto &timer = timers_[key];
    if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
    const auto when = std::chrono::steady_clock::now() + delay;
    // Keep the earliest pending wake-up.
    if (timer->expiry() > std::chrono::steady_clock::now() && timer->expiry() <= when) return;
    timer->expires_at(when);
    timer->async_wait([this, key](const boost::system::error_code &ec) {
        if (!ec) enqueue(key);
    });
}

void Reconciler::start() {
    started_ = true;
    // Units whose pods are gone (deleted while the agent was down) are found by their metadata.
    std::set<std::string> keys;
    for (const auto &file : units_.unit_files(std::string(units::kUnitPrefix))) {
        const auto text = units_.read_unit_file(file);
        if (!text) continue;
        try {
            const auto md = units::read_pod_metadata(units::parse_unit(*text));
            const auto key = md.at("Namespace") + "/" + md.at("PodName");
            unit_owner_[file] = key;
            keys.insert(key);
        } catch (const std::exception &e) {
            spdlog::warn("unit={} has unreadable systemk metadata: {}", file, e.what());
        }
    }
    for (const auto &pod : pods_.list()) keys.insert(kube::object_key(pod));
    spdlog::info("reconciler starting: {} pods, {} existing units", pods_.size(), unit_owner_.size());
    for (const auto &k : keys) enqueue(k);
    asio::co_spawn(io_, drain(), asio::detached);
}

asio::awaitable<void> Reconciler::drain() {
    for (;;) {
        while (queue_.empty()) {
            wake_.expires_at(std::chrono::steady_clock::time_point::max());
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        const auto key = queue_.front();
        queue_.pop_front();
        dirty_.erase(key);
        state_cache_.clear();
        try {
            co_await reconcile(key);
        } catch (const std::exception &e) {
            spdlog::error("pod={} reconcile failed: {}; retrying in 5 s", key, e.what());
            schedule(key, 5s);
        }
        units_.process_pending();
    }
}

void Reconciler::event(PodRuntime &rt, const char *type, const std::string &reason, const std::string &message) {
    const auto signature = reason + "|" + message;
    if (signature == rt.last_event) return;  // one Event per distinct occurrence, not per retry
    rt.last_event = signature;
    const auto now = node::rfc3339_now();
    json::object ev{
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", json::object{{"generateName", rt.name + "."}, {"namespace", rt.ns}}},
        {"involvedObject", json::object{{"kind", "Pod"}, {"namespace", rt.ns}, {"name", rt.name}, {"uid", rt.uid},
                                        {"apiVersion", "v1"}}},
        {"reason", reason},
        {"message", message},
        {"type", type},
        {"source", json::object{{"component", "systemk"}, {"host", node_.node_name}}},
        {"firstTimestamp", now},
        {"lastTimestamp", now},
        {"count", 1}};
    auto body = json::serialize(ev);
    auto path = "/api/v1/namespaces/" + rt.ns + "/events";
    asio::co_spawn(io_, [this, path, body]() -> asio::awaitable<void> {
        try {
            const auto res = co_await client_.request(verb::post, path, body);
            if (!res.ok()) spdlog::warn("creating an event failed: HTTP {}", res.status);
        } catch (const std::exception &e) {
            spdlog::warn("creating an event failed: {}", e.what());
        }
    }, asio::detached);
}

void Reconciler::set_condition(PodRuntime &rt, const std::string &type, bool value) {
    auto it = rt.conditions.find(type);
    if (it == rt.conditions.end() || it->second.first != value) rt.conditions[type] = {value, node::rfc3339_now()};
}

void Reconciler::remove_orphans(const std::string &key) {
    // Every unit file of this pod key, whatever its uid: stop, remove, and clean its volumes.
    std::set<std::string> uids;
    for (auto it = unit_owner_.begin(); it != unit_owner_.end();) {
        if (it->second != key) {
            ++it;
            continue;
        }
        const auto unit = it->first;
        if (const auto text = units_.read_unit_file(unit)) {
            try {
                uids.insert(units::read_pod_metadata(units::parse_unit(*text)).at("PodUID"));
            } catch (const std::exception &) {
            }
        }
        units_.stop(unit);
        units_.remove_unit_file(unit);
        units_.reset_failed(unit);
        spdlog::info("pod={} unit={} removed (pod no longer exists)", key, unit);
        it = unit_owner_.erase(it);
    }
    for (const auto &uid : uids)
        if (!uid.empty()) remove_pod_files(node_, uid);
}

void Reconciler::prepare(PodRuntime &rt, const json::object &pod) {
    CacheLookup lookup(referenced_.config_maps(), referenced_.secrets());
    units::PodInputs in;
    in.pod = &pod;
    in.node = &node_;
    in.objects = &lookup;
    in.images = resolve_images(pod, plugins_, false);
    in.volumes = prepare_volumes(pod, plugins_, node_, false, lookup);
    auto pod_units = units::synthesize_pod_units(in);
    rt.unit_text.clear();
    const auto old = std::move(rt.containers);
    rt.containers.clear();
    for (auto &u : pod_units) {
        Container c;
        c.name = u.container;
        c.unit = u.name;
        c.init = u.init;
        c.image = units::read_pod_metadata(u.unit).at("Image");
        for (const auto &o : old)
            if (o.name == c.name) c = o;
        c.unit = u.name;
        rt.unit_text[u.name] = units::write_unit(u.unit);
        if (!u.env_file.empty()) write_env_file(u.env_file, u.secret_env);
        unit_owner_[u.name] = rt.key;
        for (const auto &w : u.warnings) event(rt, "Warning", "InvalidEnvironmentVariableNames", w);
        rt.containers.push_back(std::move(c));
    }
    // Restart counts survive an agent restart through the API's own status.
    if (const auto *status = pod.if_contains("status"); status && status->is_object())
        for (const char *list : {"initContainerStatuses", "containerStatuses"})
            if (const auto *arr = status->get_object().if_contains(list); arr && arr->is_array())
                for (const auto &cs : arr->get_array()) {
                    if (!cs.is_object()) continue;
                    const auto name = str_at(cs.get_object(), {"name"});
                    for (auto &c : rt.containers)
                        if (c.name == name && c.restart_count == 0) {
                            if (const auto *rc = cs.get_object().if_contains("restartCount"); rc && rc->is_int64())
                                c.restart_count = static_cast<int>(rc->get_int64());
                            if (const auto *ls = cs.get_object().if_contains("lastState"); ls && ls->is_object())
                                c.last_state = *ls;
                        }
                }
    rt.prepared = true;
    rt.error_reason.clear();
    rt.error_message.clear();
}

void Reconciler::start_unit(PodRuntime &rt, Container &c) {
    const auto &desired = rt.unit_text.at(c.unit);
    if (units_.read_unit_file(c.unit) != desired) {
        units_.write_unit_file(c.unit, desired);
        event(rt, "Normal", "Created", "Created container " + c.name + " as " + c.unit);
    }
    // systemd loads a new unit file on first reference; a changed one needs a reload.
    const auto s = units_.state(c.unit);
    if (s.load_state != "loaded" || s.need_daemon_reload) units_.reload_if_needed();
    units_.reset_failed(c.unit);
    units_.restart(c.unit);
    state_cache_.erase(c.unit);
    spdlog::info("pod={} container={} unit={} started", rt.key, c.name, c.unit);
}

// One container's step. Returns true when the container is "done" (for init: succeeded).
bool Reconciler::drive_container(PodRuntime &rt, Container &c, const systemd::UnitState &s) {
    const auto now = std::chrono::steady_clock::now();
    if (unit_running(s)) return false;
    if (!s.ever_started()) {
        start_unit(rt, c);
        event(rt, "Normal", "Started", "Started container " + c.name);
        return false;
    }
    const auto t = termination_of(s);
    if (!t) return false;
    const bool failed = t->exit_code != 0 || t->reason != "Completed";
    if (c.init && !failed) return true;
    const bool restart = rt.restart_policy == "Always" || (rt.restart_policy == "OnFailure" && failed) ||
                         (c.init && rt.restart_policy != "Never");
    if (!restart) return !failed;
    // The kubelet's back-off: immediate first restart, then 10 s doubling to 5 min; reset after
    // 10 minutes of running.
    const auto ran = std::chrono::microseconds(s.exited_usec - s.started_usec);
    if (s.exited_usec > s.started_usec && ran > kBackoffReset) c.backoff = 0s;
    if (c.last_invocation_seen != t->finished_at + "|" + t->started_at) {
        c.last_invocation_seen = t->finished_at + "|" + t->started_at;
        c.next_start = now + c.backoff;
        if (c.backoff > 0s) {
            event(rt, "Warning", "BackOff", "Back-off restarting failed container " + c.name);
        }
    }
    if (now < c.next_start) {
        schedule(rt.key, std::chrono::duration_cast<std::chrono::milliseconds>(c.next_start - now) + 10ms);
        return false;
    }
    c.last_state = json::object{{"terminated", terminated_json(*t, c.unit)}};
    ++c.restart_count;
    c.backoff = c.backoff == 0s ? kInitialBackoff : std::min<std::chrono::seconds>(c.backoff * 2, kMaxBackoff);
    start_unit(rt, c);
    return false;
}

void Reconciler::drive(PodRuntime &rt) {
    for (auto &c : rt.containers) {
        if (!c.init) continue;
        const auto s = unit_state(c.unit);
        if (!drive_container(rt, c, s)) return;  // init containers run one at a time, in order
    }
    for (auto &c : rt.containers) {
        if (c.init) continue;
        const auto s = unit_state(c.unit);  // a copy: starting the unit drops the cached entry
        drive_container(rt, c, s);
    }
}

json::object Reconciler::build_status(PodRuntime &rt, const json::object &pod) {
    json::array init_statuses, app_statuses;
    bool init_done = true, init_failed_for_good = false;
    bool all_app_running = true, any_app_started = false, all_app_final = true, any_app_failed = false;
    bool earlier_init_pending = false;
    for (auto &c : rt.containers) {
        json::object cs{{"name", c.name}, {"image", c.image}, {"imageID", ""}, {"restartCount", c.restart_count},
                        {"lastState", c.last_state}, {"ready", false}, {"started", false}};
        json::object state;
        systemd::UnitState s;
        if (rt.prepared) s = unit_state(c.unit);
        const auto t = termination_of(s);
        if (!rt.prepared) {
            state["waiting"] = json::object{{"reason", rt.error_reason}, {"message", rt.error_message}};
        } else if (unit_running(s)) {
            cs["containerID"] = "systemd://" + c.unit;
            state["running"] = json::object{{"startedAt", rfc3339_from_usec(s.started_usec)}};
            cs["started"] = true;
            cs["ready"] = !c.init;
        } else if (t) {
            cs["containerID"] = "systemd://" + c.unit;
            const bool failed = t->exit_code != 0 || t->reason != "Completed";
            const bool will_restart = rt.restart_policy == "Always" || (rt.restart_policy == "OnFailure" && failed) ||
                                      (c.init && failed && rt.restart_policy != "Never");
            if (will_restart && !(c.init && !failed)) {
                state["waiting"] = json::object{
                    {"reason", "CrashLoopBackOff"},
                    {"message", "back-off " + std::to_string(c.backoff.count()) + "s restarting failed container=" + c.name +
                                    " pod=" + rt.name + "_" + rt.ns + "(" + rt.uid + ")"}};
                cs["lastState"] = json::object{{"terminated", terminated_json(*t, c.unit)}};
            } else {
                state["terminated"] = terminated_json(*t, c.unit);
            }
        } else {
            const char *reason = (!c.init && !init_done) ? "PodInitializing" : "ContainerCreating";
            state["waiting"] = json::object{{"reason", reason}};
        }
        cs["state"] = state;
        if (c.init) {
            const bool succeeded = t && t->exit_code == 0 && t->reason == "Completed";
            if (!succeeded) init_done = false;
            if (t && !succeeded && rt.restart_policy == "Never") init_failed_for_good = true;
            earlier_init_pending = earlier_init_pending || !succeeded;
            init_statuses.push_back(cs);
        } else {
            const bool running = state.contains("running");
            all_app_running = all_app_running && running;
            any_app_started = any_app_started || s.ever_started();
            const bool final_state = state.contains("terminated");
            all_app_final = all_app_final && final_state;
            if (final_state && state.at("terminated").at("exitCode").as_int64() != 0) any_app_failed = true;
            app_statuses.push_back(cs);
        }
    }
    std::string phase = "Pending";
    if (init_failed_for_good) phase = "Failed";
    else if (rt.prepared && init_done && all_app_final && !app_statuses.empty()) phase = any_app_failed ? "Failed" : "Succeeded";
    else if (rt.prepared && init_done && any_app_started) phase = "Running";

    set_condition(rt, "PodScheduled", true);
    set_condition(rt, "Initialized", init_done);
    set_condition(rt, "ContainersReady", init_done && all_app_running);
    set_condition(rt, "Ready", init_done && all_app_running);
    json::array conditions;
    for (const char *type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
        const auto &[value, since] = rt.conditions.at(type);
        json::object c{{"type", type}, {"status", value ? "True" : "False"}, {"lastProbeTime", nullptr},
                       {"lastTransitionTime", since}};
        if (!value && std::string(type) != "PodScheduled")
            c["reason"] = std::string(type) == "Initialized" ? "ContainersNotInitialized" : "ContainersNotReady";
        conditions.push_back(c);
    }
    if (rt.start_time.empty()) {
        rt.start_time = str_at(pod, {"status", "startTime"});
        if (rt.start_time.empty()) rt.start_time = node::rfc3339_now();
    }
    json::object status{{"phase", phase},
                        {"conditions", conditions},
                        {"hostIP", node_.internal_ip},
                        {"podIP", node_.internal_ip},
                        {"podIPs", json::array{json::object{{"ip", node_.internal_ip}}}},
                        {"startTime", rt.start_time},
                        {"containerStatuses", app_statuses}};
    if (!init_statuses.empty()) status["initContainerStatuses"] = init_statuses;
    // Explicit nulls: the status is written as a merge patch, so a cleared error must be removed.
    status["reason"] = rt.error_reason.empty() ? json::value(nullptr) : json::value(rt.error_reason);
    status["message"] = rt.error_message.empty() ? json::value(nullptr) : json::value(rt.error_message);
    return status;
}

asio::awaitable<void> Reconciler::write_status(PodRuntime &rt, const json::object &pod) {
    if (is_terminal(str_at(pod, {"status", "phase"}))) co_return;  // never rewrite a terminal phase
    const auto status = build_status(rt, pod);
    const auto text = json::serialize(status);
    if (text == rt.last_status) co_return;
    const json::object patch{{"status", status}};
    const auto res = co_await client_.request(verb::patch, "/api/v1/namespaces/" + rt.ns + "/pods/" + rt.name + "/status",
                                              json::serialize(patch), "application/merge-patch+json");
    if (res.status == 404) co_return;
    if (!res.ok()) throw kube::ApiError(res.status, "pod status update: HTTP " + std::to_string(res.status) + ": " +
                                                        res.body.substr(0, 200));
    if (rt.last_status.empty() || json::parse(rt.last_status).at("phase") != status.at("phase"))
        spdlog::info("pod={} phase={}", rt.key, status.at("phase").as_string().c_str());
    rt.last_status = text;
}

asio::awaitable<void> Reconciler::terminate(PodRuntime &rt, const json::object &pod) {
    if (!rt.stopping) {
        for (const auto &c : rt.containers) units_.stop(c.unit);
        rt.stopping = true;
        // The deletion's own grace period wins over the unit's TimeoutStopSec when shorter.
        int64_t grace = 30;
        if (const auto *meta = pod.if_contains("metadata"); meta && meta->is_object())
            if (const auto *g = meta->get_object().if_contains("deletionGracePeriodSeconds"); g && g->is_int64())
                grace = g->get_int64();
        rt.kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(std::max<int64_t>(grace, 0));
        event(rt, "Normal", "Killing", "Stopping containers");
        spdlog::info("pod={} stopping {} units (grace {} s)", rt.key, rt.containers.size(), grace);
    }
    bool running = false;
    for (const auto &c : rt.containers) running = running || unit_running(units_.state(c.unit));
    if (running) {
        if (std::chrono::steady_clock::now() >= rt.kill_at) {
            for (const auto &c : rt.containers) units_.kill(c.unit, SIGKILL);
            spdlog::info("pod={} grace period over: SIGKILL", rt.key);
        }
        schedule(rt.key, 500ms);
        co_return;
    }
    remove_orphans(rt.key);  // every unit of this pod: file, failed state, owner entry
    remove_pod_files(node_, rt.uid);  // the pod directory may exist without unit files (never started)
    const json::object options{{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", 0},
                               {"preconditions", json::object{{"uid", rt.uid}}}};
    const auto res = co_await client_.request(verb::delete_, "/api/v1/namespaces/" + rt.ns + "/pods/" + rt.name,
                                              json::serialize(options));
    if (!res.ok() && res.status != 404 && res.status != 409)
        throw kube::ApiError(res.status, "deleting pod: HTTP " + std::to_string(res.status));
    spdlog::info("pod={} deleted", rt.key);
    runtimes_.erase(rt.key);
}

asio::awaitable<void> Reconciler::reconcile(const std::string &key) {
    const auto pod = pods_.get(key);
    if (!pod) {
        remove_orphans(key);
        runtimes_.erase(key);
        co_return;
    }
    const auto uid = str_at(*pod, {"metadata", "uid"});
    auto it = runtimes_.find(key);
    if (it != runtimes_.end() && it->second.uid != uid) {
        remove_orphans(key);  // a new pod with the same name
        runtimes_.erase(it);
        it = runtimes_.end();
    }
    if (it == runtimes_.end()) {
        PodRuntime rt;
        rt.key = key;
        rt.uid = uid;
        rt.ns = str_at(*pod, {"metadata", "namespace"});
        rt.name = str_at(*pod, {"metadata", "name"});
        it = runtimes_.emplace(key, std::move(rt)).first;
    }
    auto &rt = it->second;
    rt.restart_policy = str_at(*pod, {"spec", "restartPolicy"});
    if (rt.restart_policy.empty()) rt.restart_policy = "Always";

    if (!str_at(*pod, {"metadata", "deletionTimestamp"}).empty()) {
        if (!rt.prepared) {
            try {
                prepare(rt, *pod);
            } catch (const std::exception &) {
                // A pod that never ran: nothing to stop.
            }
        }
        co_await terminate(rt, *pod);
        co_return;
    }
    if (is_terminal(str_at(*pod, {"status", "phase"}))) co_return;

    if (!rt.prepared && !referenced_.synced_for(*pod)) {
        // Its configMaps and secrets are still being listed: judging them missing now would be wrong.
        schedule(key, 200ms);
        co_return;
    }
    if (!rt.prepared) {
        if (rt.containers.empty()) {
            // Until units exist, statuses still name every container (waiting, with the reason).
            for (const char *list : {"initContainers", "containers"}) {
                const auto *spec = pod->if_contains("spec");
                const auto *arr = spec && spec->is_object() ? spec->get_object().if_contains(list) : nullptr;
                if (!arr || !arr->is_array()) continue;
                for (const auto &c : arr->get_array())
                    if (c.is_object()) {
                        Container skeleton;
                        skeleton.name = str_at(c.get_object(), {"name"});
                        skeleton.image = str_at(c.get_object(), {"image"});
                        skeleton.init = std::string(list) == "initContainers";
                        rt.containers.push_back(std::move(skeleton));
                    }
            }
        }
        try {
            prepare(rt, *pod);
        } catch (const SpecError &e) {
            rt.error_reason = e.reason();
            rt.error_message = e.what();
            spdlog::warn("pod={} cannot run: {} ({})", key, e.what(), e.reason());
            event(rt, "Warning", e.reason() == "CreateContainerConfigError" ? "Failed" : e.reason(), e.what());
            // Missing configMaps or packages may appear: try again.
            schedule(key, 10s);
        }
        if (!rt.prepared) {
            co_await write_status(rt, *pod);
            co_return;
        }
    }
    drive(rt);
    co_await write_status(rt, *pod);
}

}  // namespace systemk::pods
