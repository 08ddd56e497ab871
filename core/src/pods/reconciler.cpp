#include "pods/reconciler.h"

#include "util/gcc12_coroutines.h"

#include <spdlog/spdlog.h>

#include <csignal>

#include "metrics/agent_metrics.h"
#include "node/node_object.h"
#include "pods/cache_lookup.h"
#include "pods/container_files.h"
#include "pods/container_status.h"
#include "pods/pod_preparation.h"
#include "pods/pod_status.h"
#include "pods/spec_error.h"
#include "pods/volume_manager.h"
#include "units/unit_file.h"
#include "units/unit_name.h"

namespace systemk::pods {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using kube::http::verb;
using Clock = std::chrono::steady_clock;

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

std::optional<int64_t> int_at(const json::object &o, const char *section, const char *key) {
    const auto *s = o.if_contains(section);
    if (!s || !s->is_object()) return std::nullopt;
    const auto *v = s->get_object().if_contains(key);
    if (v && v->is_int64()) return v->get_int64();
    if (v && v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
    return std::nullopt;
}

bool is_terminal(const std::string &phase) { return phase == "Succeeded" || phase == "Failed"; }

// Runs `f` on the pool and resumes the calling coroutine on its own executor afterwards.
// `f` must not throw. (A plain function, not a coroutine: GCC 12 mishandles a by-value
// std::function parameter moved out of a coroutine frame.)
asio::awaitable<void> run_blocking(asio::thread_pool &pool, std::function<void()> f) {
    return asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&pool](auto handler, std::function<void()> work) {
            auto ex = asio::get_associated_executor(handler);
            asio::post(pool, [work = std::move(work), handler = std::move(handler), ex]() mutable {
                work();
                asio::post(ex, std::move(handler));
            });
        },
        asio::use_awaitable, std::move(f));
}

// The container entries of the pod's API status, by name.
std::map<std::string, json::object> api_container_statuses(const json::object &pod) {
    std::map<std::string, json::object> out;
    const auto *status = pod.if_contains("status");
    if (!status || !status->is_object()) return out;
    for (const char *list : {"initContainerStatuses", "containerStatuses"})
        if (const auto *arr = status->get_object().if_contains(list); arr && arr->is_array())
            for (const auto &cs : arr->get_array())
                if (cs.is_object()) out[str_at(cs.get_object(), {"name"})] = cs.get_object();
    return out;
}

// Every container's image, in order: what a failed pull is retried for.
std::string images_of(const json::object &pod) {
    std::string out;
    const auto *spec = pod.if_contains("spec");
    if (!spec || !spec->is_object()) return out;
    for (const char *list : {"initContainers", "containers"})
        if (const auto *arr = spec->get_object().if_contains(list); arr && arr->is_array())
            for (const auto &c : arr->get_array())
                if (c.is_object()) out += str_at(c.get_object(), {"image"}) + "\n";
    return out;
}

// systemd refused the unit itself (its file), rather than failing to run it.
bool is_unit_error(const std::string &error_name) {
    return error_name.find("BadUnitSetting") != std::string::npos || error_name.find("LoadFailed") != std::string::npos ||
           error_name.find("NoSuchUnit") != std::string::npos;
}

Preparer plugin_preparer(const plugins::PluginRegistry &plugins, const NodeContext &node,
                         kube::ReferencedObjects &referenced, kube::TokenManager &tokens) {
    return [&plugins, node, &referenced, &tokens, volumes = VolumeManager(plugins, node)](const json::object &pod,
                                                                                          const PullReporter &report) {
        CacheLookup lookup(referenced.config_maps(), referenced.secrets(), &tokens);
        units::PodInputs in;
        in.pod = &pod;
        in.node = &node;
        in.objects = &lookup;
        in.images = resolve_images(pod, plugins, false, report);
        in.volumes = volumes.prepare(pod, lookup);
        return units::synthesize_pod_units(in);
    };
}

VolumeHooks plugin_volume_hooks(const plugins::PluginRegistry &plugins, const NodeContext &node,
                                kube::ReferencedObjects &referenced, kube::TokenManager &tokens) {
    VolumeHooks hooks;
    auto volumes = std::make_shared<VolumeManager>(plugins, node);
    hooks.refresh = [volumes, &referenced, &tokens](const json::object &pod) {
        CacheLookup lookup(referenced.config_maps(), referenced.secrets(), &tokens);
        volumes->refresh(pod, lookup);
    };
    hooks.next_refresh = [&tokens](const std::string &uid) { return tokens.next_refresh(uid); };
    hooks.forget = [&tokens](const std::string &uid) { tokens.forget_pod(uid); };
    hooks.cleanup = [volumes](const std::string &uid) { volumes->cleanup(uid); };
    hooks.cleanup_orphans = [volumes](const std::set<std::string> &known) {
        if (const auto n = volumes->cleanup_orphans(known)) spdlog::info("removed the volumes of {} pods deleted meanwhile", n);
    };
    return hooks;
}

// What the downwardAPI files of a pod are written from and may change while it runs.
std::string downward_metadata(const json::object &pod) {
    const auto *meta = pod.if_contains("metadata");
    if (!meta || !meta->is_object()) return {};
    std::string out;
    for (const char *key : {"labels", "annotations"})
        if (const auto *v = meta->get_object().if_contains(key)) out += json::serialize(*v);
    return out + ";";
}

// Whether `pod` refers to the configMap or secret "ns/name" (either kind: a name change is rare
// and a refresh too many is harmless).
bool references_object(const json::object &pod, const std::string &object_key) {
    for (const auto &ref : kube::references_of(pod))
        if (ref.ns + "/" + ref.name == object_key) return true;
    return false;
}

}  // namespace

Reconciler::Reconciler(asio::io_context &io, kube::ApiClient &client, systemd::UnitControl &units,
                       const plugins::PluginRegistry &plugins, NodeContext node, kube::ObjectCache &pods,
                       kube::ReferencedObjects &referenced, kube::TokenManager &tokens)
    : Reconciler(io, *new ApiClientPodApi(client), units, plugin_preparer(plugins, node, referenced, tokens), node, pods,
                 [&referenced](const json::object &pod) { return referenced.synced_for(pod); }, EngineSettings{},
                 plugin_volume_hooks(plugins, node, referenced, tokens)) {
    own_api_.reset(&api_);  // the adapter made above
}

Reconciler::Reconciler(asio::io_context &io, PodApi &api, systemd::UnitControl &units, Preparer preparer, NodeContext node,
                       kube::ObjectCache &pods, std::function<bool(const json::object &)> objects_synced,
                       EngineSettings settings, VolumeHooks volume_hooks)
    : io_(io), api_(api), units_(units), preparer_(std::move(preparer)), node_(std::move(node)), pods_(pods),
      objects_synced_(std::move(objects_synced)), settings_(settings), volume_hooks_(std::move(volume_hooks)),
      pool_(settings.prepare_threads), pull_pool_(settings.pull_threads),
      // Four API connections at most: three status writers, one Event writer.
      status_(io.get_executor(), api_, 3), events_(io.get_executor(), api_, "systemk", node_.node_name, {}, 1),
      queue_(io.get_executor(), [this](std::string key) { return sync(std::move(key)); }), resync_timer_(io) {
    units_.on_resync([this] { resync_all(); });
}

Reconciler::~Reconciler() {
    *alive_ = false;
    pool_.join();
    pull_pool_.join();
}

void Reconciler::enqueue(const std::string &key) {
    if (started_) queue_.add(key);
}

void Reconciler::unit_changed(const std::string &unit) {
    if (auto it = unit_index_.find(unit); it != unit_index_.end()) return enqueue(it->second.key);
    if (const auto id = units::parse_unit_name(unit); id && !id->pod_shortened) enqueue(id->namespace_ + "/" + id->pod);
}

void Reconciler::object_changed(const std::string &object_key) {
    const auto ns = object_key.substr(0, object_key.find('/'));
    for (auto &[key, rt] : runtimes_) {
        if (rt.ns != ns) continue;
        bool waiting = !rt.prepared;
        for (const auto &c : rt.containers) waiting = waiting || c.waiting_reason == "CreateContainerConfigError";
        if (waiting) {
            enqueue(key);
            continue;
        }
        // A running pod's volumes follow the object (as the kubelet's, without a restart).
        if (const auto pod = pods_.get(key); pod && references_object(*pod, object_key)) {
            rt.volumes_stale = true;
            enqueue(key);
        }
    }
}

void Reconciler::remove_volumes(const std::string &uid) {
    if (volume_hooks_.cleanup)
        volume_hooks_.cleanup(uid);
    else
        remove_pod_files(node_, uid);
}

void Reconciler::forget_runtime(const std::string &uid) {
    if (volume_hooks_.forget) volume_hooks_.forget(uid);
}

void Reconciler::start() {
    started_ = true;
    // Units on disk say which pod (namespace, name, UID) they belong to: the basis for adopting,
    // for removing units of pods that are gone, and for terminating pods that never prepared.
    for (const auto &file : units_.unit_files(std::string(units::kUnitPrefix))) {
        const auto text = units_.read_unit_file(file);
        if (!text) continue;
        try {
            const auto md = units::read_pod_metadata(units::parse_unit(*text));
            unit_index_[file] = UnitIdentity{md.at("Namespace") + "/" + md.at("PodName"), md.at("PodUID")};
        } catch (const std::exception &e) {
            spdlog::warn("unit={} has unreadable systemk metadata: {}", file, e.what());
        }
    }
    spdlog::info("reconciler starting: {} pods, {} existing units", pods_.size(), unit_index_.size());
    if (volume_hooks_.cleanup_orphans) {
        // Before any pod is prepared, so that no directory being made can look orphaned.
        std::set<std::string> known;
        for (const auto &[unit, id] : unit_index_) known.insert(id.uid);
        for (const auto &pod : pods_.list()) known.insert(str_at(pod, {"metadata", "uid"}));
        volume_hooks_.cleanup_orphans(known);
    }
    resync_all();
    schedule_resync();
}

void Reconciler::resync_all() {
    if (!started_) return;
    std::set<std::string> keys;
    for (const auto &[unit, id] : unit_index_) keys.insert(id.key);
    for (const auto &pod : pods_.list()) keys.insert(kube::object_key(pod));
    for (const auto &k : keys) queue_.add(k);
}

void Reconciler::schedule_resync() {
    resync_timer_.expires_after(settings_.resync_period);
    resync_timer_.async_wait([this, alive = alive_](const boost::system::error_code &ec) {
        if (ec || !*alive) return;
        // The safety net for missed signals (a dead Always container is restarted here).
        resync_all();
        schedule_resync();
    });
}

void Reconciler::event(const PodRuntime &rt, const char *type, const std::string &reason, const std::string &message) {
    events_.record(EventObject{rt.ns, rt.name, rt.uid}, type, reason, message);
}

asio::awaitable<systemd::UnitState> Reconciler::read_state(const std::string &unit) {
    if (!units_.read_unit_file(unit)) {
        // No file: not ours to run (yet). Asking systemd would only load a not-found unit.
        systemd::UnitState s;
        s.name = unit;
        s.load_state = "not-found";
        s.active_state = "inactive";
        co_return s;
    }
    co_return co_await units_.state(unit);
}

asio::awaitable<void> Reconciler::sync(std::string key) {
    auto alive = alive_;
    const auto pod = pods_.get(key);
    const metrics::ScopedDuration timing(metrics::pod_sync_duration(
        !pod ? "remove" : str_at(*pod, {"metadata", "deletionTimestamp"}).empty() ? "sync" : "terminate"));
    if (!pod) {
        // Gone from the API (deleted, also while the agent was down): its units go too.
        const bool done = co_await remove_units(key, "", false);
        if (!*alive) co_return;
        if (!done) {
            queue_.add_after(key, settings_.poll_while_stopping);
            co_return;
        }
        if (auto it = runtimes_.find(key); it != runtimes_.end()) {
            events_.forget(it->second.uid);
        forget_runtime(it->second.uid);
            forget_runtime(it->second.uid);
            runtimes_.erase(it);
        }
        status_.forget(key);
        co_return;
    }
    const auto uid = str_at(*pod, {"metadata", "uid"});
    // Units of an older pod of the same name (recreated while the agent was down, or quickly):
    // stopped and removed before this one starts, so it never adopts their process or exit.
    const bool old_gone = co_await remove_units(key, uid, false);
    if (!*alive) co_return;
    if (!old_gone) {
        queue_.add_after(key, settings_.poll_while_stopping);
        co_return;
    }
    auto &rt = runtime_for(key, *pod);
    co_await sync_pod(rt, *pod);
}

Reconciler::PodRuntime &Reconciler::runtime_for(const std::string &key, const json::object &pod) {
    const auto uid = str_at(pod, {"metadata", "uid"});
    auto it = runtimes_.find(key);
    if (it != runtimes_.end() && it->second.uid != uid) {
        events_.forget(it->second.uid);
        forget_runtime(it->second.uid);
        runtimes_.erase(it);
        status_.forget(key);
        it = runtimes_.end();
    }
    if (it != runtimes_.end()) return it->second;
    PodRuntime rt;
    rt.key = key;
    rt.uid = uid;
    rt.ns = str_at(pod, {"metadata", "namespace"});
    rt.name = str_at(pod, {"metadata", "name"});
    // Every container is known from the spec at once, so that status and termination never
    // depend on preparing the pod.
    const auto api = api_container_statuses(pod);
    const auto *spec = pod.if_contains("spec");
    for (const char *list : {"initContainers", "containers"}) {
        const auto *arr = spec && spec->is_object() ? spec->get_object().if_contains(list) : nullptr;
        if (!arr || !arr->is_array()) continue;
        for (const auto &cv : arr->get_array()) {
            if (!cv.is_object()) continue;
            Container c;
            c.name = str_at(cv.get_object(), {"name"});
            c.image = str_at(cv.get_object(), {"image"});
            c.init = std::string(list) == "initContainers";
            try {
                c.unit = units::make_unit_name(rt.ns, rt.name, c.name);
            } catch (const std::exception &) {
                // not a valid name: preparing the pod reports the field
            }
            // Restart counts and last states survive an agent restart through the API status.
            if (auto a = api.find(c.name); a != api.end()) {
                c.api_status = a->second;
                if (const auto *rc = a->second.if_contains("restartCount"); rc && rc->is_int64())
                    c.restart_count = static_cast<int>(rc->get_int64());
                if (const auto *ls = a->second.if_contains("lastState"); ls && ls->is_object()) c.last_state = *ls;
            }
            rt.containers.push_back(std::move(c));
        }
    }
    return runtimes_.emplace(key, std::move(rt)).first->second;
}

asio::awaitable<bool> Reconciler::remove_units(const std::string &key, const std::string &keep_uid, bool kill_now) {
    std::vector<std::pair<std::string, std::string>> victims;  // unit, uid
    for (const auto &[unit, id] : unit_index_)
        if (id.key == key && (keep_uid.empty() || id.uid != keep_uid)) victims.emplace_back(unit, id.uid);
    if (victims.empty()) co_return true;
    bool running = false;
    for (const auto &[unit, uid] : victims) {
        const auto s = co_await units_.state(unit);
        if (!s.read_ok) {
            running = true;  // cannot tell: try again later, never remove blindly
            continue;
        }
        if (unit_running(s) || s.busy()) {
            running = true;
            if (s.active_state != "deactivating" && !s.busy()) {
                spdlog::info("pod={} unit={} of pod uid {} stopping (pod no longer exists)", key, unit, uid);
                co_await units_.stop(unit);
            }
            if (kill_now) co_await units_.kill(unit, SIGKILL);
        }
    }
    if (running) co_return false;
    std::set<std::string> uids;
    for (const auto &[unit, uid] : victims) {
        units_.remove_unit_file(unit);
        co_await units_.reset_failed(unit);
        unit_index_.erase(unit);
        // systemd usually collects it at once (inactive, reset); if not, a new file needs a reload.
        if (stale_units_.size() > 256) stale_units_.clear();
        stale_units_.insert(unit);
        uids.insert(uid);
        spdlog::info("pod={} unit={} removed (pod uid {} no longer exists)", key, unit, uid);
    }
    for (const auto &uid : uids) {
        if (uid.empty()) continue;
        // Named, not a temporary: GCC 12 may destroy temporaries of a co_await expression twice.
        std::function<void()> work = [this, uid] { remove_volumes(uid); };
        co_await run_blocking(pool_, std::move(work));
    }
    co_return true;
}

asio::awaitable<void> Reconciler::terminate(PodRuntime &rt, const json::object &pod) {
    auto alive = alive_;
    const auto now = Clock::now();
    // The shortest grace wins: a later, shorter deletionGracePeriodSeconds brings the kill closer.
    const auto grace = std::max<int64_t>(int_at(pod, "metadata", "deletionGracePeriodSeconds").value_or(30), 0);
    const auto deadline = now + std::chrono::seconds(grace);
    if (!rt.kill_at || deadline < *rt.kill_at) rt.kill_at = deadline;
    // What runs is known from the unit files' identity, whether or not the pod ever prepared.
    std::vector<std::string> units;
    for (const auto &[unit, id] : unit_index_)
        if (id.key == rt.key && id.uid == rt.uid) units.push_back(unit);
    if (!rt.stop_sent) {
        rt.stop_sent = true;
        for (const auto &c : rt.containers)
            if (unit_index_.count(c.unit)) event(rt, "Normal", "Killing", "Stopping container " + c.name);
        spdlog::info("pod={} stopping {} units (grace {} s)", rt.key, units.size(), grace);
        for (const auto &unit : units) {
            const auto outcome = co_await units_.stop(unit);
            if (!*alive) co_return;
            if (!outcome.ok) spdlog::warn("pod={} unit={} stop failed: {}", rt.key, unit, outcome.message);
        }
    }
    bool running = false;
    for (const auto &unit : units) {
        const auto s = co_await units_.state(unit);
        if (!*alive) co_return;
        running = running || !s.read_ok || unit_running(s) || s.busy();
    }
    if (running) {
        if (Clock::now() >= *rt.kill_at) {
            spdlog::info("pod={} grace period over: SIGKILL", rt.key);
            for (const auto &unit : units) co_await units_.kill(unit, SIGKILL);
        }
        const auto until_kill = std::chrono::duration_cast<std::chrono::milliseconds>(*rt.kill_at - Clock::now());
        queue_.add_after(rt.key, std::clamp<std::chrono::milliseconds>(until_kill + 5ms, 5ms, settings_.poll_while_stopping));
        co_return;
    }
    if (!co_await remove_units(rt.key, "", true)) {
        queue_.add_after(rt.key, settings_.poll_while_stopping);
        co_return;
    }
    if (!*alive) co_return;
    const auto uid = rt.uid;
    std::function<void()> cleanup = [this, uid] { remove_volumes(uid); };  // also without units
    co_await run_blocking(pool_, std::move(cleanup));
    const json::object options{{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", 0},
                               {"preconditions", json::object{{"uid", rt.uid}}}};
    const auto key = rt.key, ns = rt.ns, name = rt.name;
    std::string target = "/api/v1/namespaces/" + ns + "/pods/" + name, body = json::serialize(options),
                content_type = "application/json";
    const auto res = co_await api_.request(verb::delete_, std::move(target), std::move(body), std::move(content_type));
    if (!*alive) co_return;
    if (!res.ok() && res.status != 404 && res.status != 409)
        throw kube::ApiError(res.status, "deleting pod: HTTP " + std::to_string(res.status));
    spdlog::info("pod={} deleted", key);
    status_.forget(key);
    if (auto it = runtimes_.find(key); it != runtimes_.end() && it->second.uid == uid) {
        events_.forget(uid);
        forget_runtime(uid);
        runtimes_.erase(it);
    }
}

asio::awaitable<bool> Reconciler::prepare(PodRuntime &rt, const json::object &pod) {
    auto alive = alive_;
    const auto key = rt.key, uid = rt.uid;
    std::vector<units::PodUnit> made;
    std::optional<SpecError> spec_error;
    std::string other_error;
    // A pull (a package install) may take minutes: its container says so meanwhile, and Events
    // tell when it starts and ends, as the kubelet's do. Called on the pool thread.
    PullReporter report;
    auto on_loop = [this, alive, key, uid, pod](std::string container, std::string reason, std::string message) {
        asio::post(io_, [this, alive, key, uid, pod, container = std::move(container), reason = std::move(reason),
                         message = std::move(message)] {
            if (!*alive) return;
            auto it = runtimes_.find(key);
            if (it == runtimes_.end() || it->second.uid != uid || it->second.prepared) return;
            auto &rt = it->second;
            for (auto &c : rt.containers)
                if (c.name == container) {
                    c.waiting_reason = "ContainerCreating";
                    c.waiting_message = reason == "Pulling" ? message : "";
                }
            event(rt, "Normal", reason, message);
            publish_status(rt, pod);
        });
    };
    report.pulling = [on_loop](const std::string &container, const std::string &message) { on_loop(container, "Pulling", message); };
    report.pulled = [on_loop](const std::string &container, const std::string &message) { on_loop(container, "Pulled", message); };
    // Plugins may download and install packages: never on the event loop, and not on the
    // prepare threads either (a pull is deferred there and run on the pull threads).
    report.defer = true;
    bool deferred = false;
    std::function<void()> work = [&] {
        try {
            made = preparer_(pod, report);
        } catch (const PullDeferred &) {
            deferred = true;
        } catch (const SpecError &e) {
            spec_error = e;
        } catch (const std::exception &e) {
            other_error = e.what();
        }
    };
    co_await run_blocking(pool_, work);
    if (deferred && *alive) {
        report.defer = false;
        deferred = false;
        co_await run_blocking(pull_pool_, std::move(work));
    }
    if (!*alive) co_return false;
    auto it = runtimes_.find(key);
    if (it == runtimes_.end() || it->second.uid != uid) co_return false;  // replaced meanwhile
    for (auto &c : rt.containers) {  // what a pull said while it ran
        c.waiting_reason.clear();
        c.waiting_message.clear();
    }
    if (spec_error || !other_error.empty()) {
        const bool pull_failed_again = rt.reason == "ErrImagePull" || rt.reason == "ImagePullBackOff";
        rt.reason = spec_error ? spec_error->reason() : "CreateContainerError";
        rt.message = spec_error ? spec_error->what() : other_error;
        // The kubelet's image back-off: the first failure says ErrImagePull, later ones
        // ImagePullBackOff, retried after 10 s doubling up to 5 min.
        if (rt.reason == "ErrImagePull") {
            rt.pull_backoff = pull_failed_again ? std::min<std::chrono::seconds>(rt.pull_backoff * 2, CrashBackoff::kMax)
                                                : CrashBackoff::kInitial;
            if (pull_failed_again) rt.reason = "ImagePullBackOff";
            rt.pulled_images = images_of(pod);
            rt.retry_pull_at = std::chrono::steady_clock::now() +
                               std::max<std::chrono::steady_clock::duration>(settings_.retry_after_error, rt.pull_backoff);
        }
        spdlog::warn("pod={} cannot run: {} ({})", rt.key, rt.message, rt.reason);
        event(rt, "Warning", rt.reason == "CreateContainerConfigError" ? "Failed" : rt.reason, rt.message);
        co_return false;
    }
    for (auto &u : made) {
        for (auto &c : rt.containers) {
            if (c.name != u.container) continue;
            c.unit = u.name;
            c.unit_text = units::write_unit(u.unit);
            for (const auto &w : u.warnings) event(rt, "Warning", "InvalidEnvironmentVariableNames", w);
            // Kept: what each start needs (env file, subPaths). The parsed model is not: its text is.
            u.unit = units::UnitFile{};
            u.warnings.clear();
            c.pod_unit = std::move(u);
            break;
        }
    }
    rt.prepared = true;
    rt.reason.clear();
    rt.message.clear();
    co_return true;
}

asio::awaitable<void> Reconciler::refresh_volumes(PodRuntime &rt, const json::object &pod) {
    auto alive = alive_;
    if (const auto meta = downward_metadata(pod); meta != rt.downward_meta) {
        rt.volumes_stale = rt.volumes_stale || !rt.downward_meta.empty();
        rt.downward_meta = meta;
    }
    const auto now = std::chrono::system_clock::now();
    if (const auto due = volume_hooks_.next_refresh ? volume_hooks_.next_refresh(rt.uid) : std::nullopt) {
        if (*due <= now)
            rt.volumes_stale = true;
        else
            queue_.add_after(rt.key, std::chrono::duration_cast<std::chrono::milliseconds>(*due - now) + 1ms);
    }
    if (!rt.volumes_stale || !volume_hooks_.refresh) co_return;
    rt.volumes_stale = false;
    const auto key = rt.key, uid = rt.uid;
    std::optional<SpecError> spec_error;
    std::string other_error;
    std::function<void()> work = [&] {
        try {
            volume_hooks_.refresh(pod);
        } catch (const SpecError &e) {
            spec_error = e;
        } catch (const std::exception &e) {
            other_error = e.what();
        }
    };
    co_await run_blocking(pool_, std::move(work));
    if (!*alive) co_return;
    auto it = runtimes_.find(key);
    if (it == runtimes_.end() || it->second.uid != uid) co_return;
    if (spec_error || !other_error.empty()) {
        // The kubelet's way: the old content stays, the pod keeps running, it is tried again.
        const std::string message = spec_error ? spec_error->what() : other_error;
        spdlog::warn("pod={} volumes not updated: {}", key, message);
        event(rt, "Warning", "FailedMount", message);
        rt.volumes_stale = true;
        queue_.add_after(key, settings_.retry_after_error);
        co_return;
    }
    spdlog::debug("pod={} volumes updated", key);
}

void Reconciler::container_error(PodRuntime &rt, Container &c, const std::string &reason, const std::string &message) {
    if (c.waiting_reason != reason || c.waiting_message != message)
        spdlog::warn("pod={} container={} cannot start: {} ({})", rt.key, c.name, message, reason);
    c.waiting_reason = reason;
    c.waiting_message = message;
    event(rt, "Warning", "Failed", "Error: " + message);
    queue_.add_after(rt.key, settings_.retry_after_error);
}

asio::awaitable<void> Reconciler::start_container(PodRuntime &rt, Container &c) {
    auto alive = alive_;
    if (!c.pod_unit) co_return;
    const auto &pu = *c.pod_unit;
    try {
        if (!pu.env_file.empty()) write_env_file(pu.env_file, pu.secret_env);
        pin_subpaths(pu.subpaths);
    } catch (const SpecError &e) {
        container_error(rt, c, "CreateContainerConfigError", e.what());
        co_return;
    }
    const bool known = c.state && c.state->load_state == "loaded";
    bool wrote = false;
    if (units_.read_unit_file(c.unit) != c.unit_text) {
        try {
            units_.write_unit_file(c.unit, c.unit_text);
        } catch (const std::exception &e) {
            container_error(rt, c, "CreateContainerError", e.what());
            co_return;
        }
        unit_index_[c.unit] = UnitIdentity{rt.key, rt.uid};
        wrote = true;
        event(rt, "Normal", "Created", "Created container " + c.name);
    }
    // A new unit file loads on first reference; only a changed file of a loaded unit needs a
    // daemon-reload (shared with every other worker that needs one now).
    const bool stale = stale_units_.erase(c.unit) > 0;
    if ((wrote && (known || stale)) || (c.state && c.state->need_daemon_reload)) {
        const auto r = co_await units_.reload();
        if (!*alive) co_return;
        if (!r.ok) spdlog::warn("daemon-reload failed: {}", r.message);
    }
    if (c.state && c.state->active_state == "failed") co_await units_.reset_failed(c.unit);
    if (!*alive) co_return;
    const bool again = c.state && c.state->ever_started();
    systemd::JobOutcome outcome;
    if (again) outcome = co_await units_.restart(c.unit);  // (not in a ?: — GCC 12 miscompiles co_await there)
    else outcome = co_await units_.start(c.unit);
    if (!*alive) co_return;
    if (!outcome.ok && outcome.error_name.find("NoSuchUnit") != std::string::npos) {
        // systemd still remembers the name as not found: make it read the file.
        co_await units_.reload();
        outcome = co_await units_.start(c.unit);
        if (!*alive) co_return;
    }
    if (!outcome.ok) {
        container_error(rt, c, is_unit_error(outcome.error_name) ? "CreateContainerError" : "RunContainerError",
                        "systemd: " + outcome.message);
        co_return;
    }
    c.waiting_reason.clear();
    c.waiting_message.clear();
    c.expect_started = true;
    spdlog::info("pod={} container={} unit={} {}", rt.key, c.name, c.unit, again ? "restarted" : "started");
}

// One container's step. Returns true when the container is done (an init container succeeded).
asio::awaitable<bool> Reconciler::drive_container(PodRuntime &rt, Container &c) {
    if (!c.state) co_return false;
    const auto &s = *c.state;
    if (!s.read_ok) {  // not "never started": we just do not know now
        queue_.add_after(rt.key, 2s);
        co_return false;
    }
    if (s.busy()) co_return false;  // a job is queued or running: its end brings us back
    c.will_restart = false;
    if (s.load_state != "loaded" && s.load_state != "not-found" && !s.load_state.empty()) {
        // bad-setting, error, masked: systemd cannot use the unit file.
        if (units_.read_unit_file(c.unit) == c.unit_text) {
            container_error(rt, c, "CreateContainerError",
                            "systemd cannot load " + c.unit + ": " + (s.load_error.empty() ? s.load_state : s.load_error));
            co_return false;
        }
    }
    // Started, whether we see it running or (a quick process, an init container) already done.
    if (c.expect_started && (unit_running(s) || termination_of(s))) {
        c.expect_started = false;
        event(rt, "Normal", "Started", "Started container " + c.name);
    }
    if (unit_running(s)) co_return false;
    if (!s.ever_started()) {
        if (c.final_state) {  // it ran before this boot and must not run again
            const auto *t = c.final_state->if_contains("terminated");
            co_return t && t->is_object() && t->get_object().if_contains("exitCode") &&
                t->get_object().at("exitCode").to_number<int64_t>() == 0;
        }
        co_await start_container(rt, c);
        co_return false;
    }
    const auto invocation = s.invocation_id.empty() ? std::to_string(s.started_usec) : s.invocation_id;
    if (s.active_state == "failed" && s.started_usec == 0) {
        // systemd could not even start the main process (a failed start job).
        if (c.failed_start != invocation) {
            c.failed_start = invocation;
            c.backoff.observe_exit(invocation, 0us, Clock::now());
            container_error(rt, c, "RunContainerError", "systemd could not start " + c.unit + ": result " + s.result);
        }
        if (Clock::now() < c.backoff.next_start()) {
            queue_.add_after(rt.key, std::chrono::duration_cast<std::chrono::milliseconds>(c.backoff.next_start() - Clock::now()) + 10ms);
            co_return false;
        }
        co_await start_container(rt, c);
        co_return false;
    }
    const auto t = termination_of(s);
    if (!t) co_return false;
    if (s.active_state == "active" && c.reaped != invocation) {
        // The main process exited but RemainAfterExit keeps the unit active: its other
        // processes would live on. A container ends with its main process.
        c.reaped = invocation;
        co_await units_.kill(c.unit, SIGKILL);
    }
    const bool failed = t->exit_code != 0 || t->reason != "Completed";
    if (c.init && !failed) co_return true;
    const bool restart = rt.restart_policy == "Always" || (rt.restart_policy == "OnFailure" && failed) ||
                         (c.init && failed && rt.restart_policy != "Never");
    if (!restart) co_return !failed;
    c.will_restart = true;
    const auto now = Clock::now();
    const auto ran = std::chrono::microseconds(s.exited_usec > s.started_usec ? s.exited_usec - s.started_usec : 0);
    if (c.backoff.observe_exit(invocation, ran, now) && c.backoff.last_wait().count() > 0)
        event(rt, "Warning", "BackOff", "Back-off restarting failed container " + c.name);
    if (now < c.backoff.next_start()) {
        queue_.add_after(rt.key, std::chrono::duration_cast<std::chrono::milliseconds>(c.backoff.next_start() - now) + 10ms);
        co_return false;
    }
    if (c.restarted_after != invocation) {
        c.restarted_after = invocation;
        ++c.restart_count;
        c.last_state = json::object{{"terminated", terminated_json(*t, c.unit)}};
    }
    co_await start_container(rt, c);
    co_return false;
}

asio::awaitable<void> Reconciler::sync_pod(PodRuntime &rt, const json::object &pod) {
    auto alive = alive_;
    const auto key = rt.key, uid = rt.uid;
    auto still_here = [&] {
        if (!*alive) return false;
        const auto it = runtimes_.find(key);
        return it != runtimes_.end() && it->second.uid == uid;
    };
    if (!str_at(pod, {"metadata", "deletionTimestamp"}).empty()) {
        co_await terminate(rt, pod);
        co_return;
    }
    if (is_terminal(str_at(pod, {"status", "phase"}))) co_return;  // finished: never touched again
    rt.restart_policy = str_at(pod, {"spec", "restartPolicy"});
    if (rt.restart_policy.empty()) rt.restart_policy = "Always";

    if (!rt.api_checked) {
        rt.api_checked = true;
        // After a reboot (no unit file) a container that already ran, per the API status, is not
        // run again when the restart policy says so; one that is run again counts a restart.
        for (auto &c : rt.containers) {
            if (!c.api_status || c.unit.empty() || units_.read_unit_file(c.unit)) continue;
            const auto before = state_from_api(*c.api_status);
            if (!before) continue;
            const auto *term = before->if_contains("terminated");
            const bool succeeded = term && term->is_object() && term->get_object().if_contains("exitCode") &&
                                   term->get_object().at("exitCode").to_number<int64_t>() == 0;
            if (rt.restart_policy == "Never" || (rt.restart_policy == "OnFailure" && succeeded) || (c.init && succeeded)) {
                c.final_state = before;
            } else {
                c.restarted_after = "api";
                ++c.restart_count;
                if (term) c.last_state = json::object{{"terminated", term->get_object()}};
            }
        }
    }
    bool all_final = !rt.containers.empty();
    for (const auto &c : rt.containers) all_final = all_final && c.final_state;
    if (all_final) {  // nothing will run again: no need to prepare anything
        publish_status(rt, pod);
        co_return;
    }
    if (!rt.prepared) {
        if (!objects_synced_(pod)) {
            // Its configMaps and secrets are still being listed: judging them missing now would be wrong.
            queue_.add_after(key, 200ms);
            co_return;
        }
        // A failed pull waits out its back-off (our own status write brings the pod back here
        // at once), unless the images changed: a fixed image is tried now.
        if ((rt.reason == "ErrImagePull" || rt.reason == "ImagePullBackOff") && rt.pulled_images == images_of(pod) &&
            std::chrono::steady_clock::now() < rt.retry_pull_at) {
            publish_status(rt, pod);
            queue_.add_after(key, std::chrono::duration_cast<std::chrono::milliseconds>(rt.retry_pull_at -
                                                                                       std::chrono::steady_clock::now()));
            co_return;
        }
        if (!co_await prepare(rt, pod)) {
            if (!still_here()) co_return;
            publish_status(rt, pod);
            // Missing objects or packages may appear; a failed pull is retried with back-off.
            queue_.add_after(key, rt.reason == "ErrImagePull" || rt.reason == "ImagePullBackOff"
                                      ? std::max<std::chrono::milliseconds>(settings_.retry_after_error, rt.pull_backoff)
                                      : settings_.retry_after_error);
            co_return;
        }
        if (!still_here()) co_return;
    } else {
        co_await refresh_volumes(rt, pod);
        if (!still_here()) co_return;
    }
    // Read every unit of the pod (concurrency comes from many pods at once).
    for (auto &c : rt.containers) {
        auto s = co_await read_state(c.unit);
        if (!still_here()) co_return;
        c.state = std::move(s);
    }
    bool init_done = true;
    for (auto &c : rt.containers) {
        if (!c.init) continue;
        const bool done = co_await drive_container(rt, c);
        if (!still_here()) co_return;
        if (!done) {
            init_done = false;
            break;  // init containers run one at a time, in order
        }
    }
    if (init_done)
        for (auto &c : rt.containers) {
            if (c.init) continue;
            co_await drive_container(rt, c);
            if (!still_here()) co_return;
        }
    // A start just sent: its job's end brings the worker back at once with the news, so a status
    // now ("ContainerCreating") would be one more write in every pod's path to Running.
    for (const auto &c : rt.containers)
        if (c.expect_started && c.state && !unit_running(*c.state) && !termination_of(*c.state) &&
            c.waiting_reason.empty())
            co_return;
    publish_status(rt, pod);
}

void Reconciler::publish_status(PodRuntime &rt, const json::object &pod) {
    PodView view;
    view.name = rt.name;
    view.ns = rt.ns;
    view.uid = rt.uid;
    view.restart_policy = rt.restart_policy;
    view.host_ip = node_.internal_ip;
    view.reason = rt.reason;
    view.message = rt.message;
    const auto *api_status = pod.if_contains("status");
    const json::object *previous = status_.latest(rt.key);
    if (!previous && api_status && api_status->is_object()) previous = &api_status->get_object();
    std::map<std::string, json::object> before;
    if (previous)
        for (const char *list : {"initContainerStatuses", "containerStatuses"})
            if (const auto *arr = previous->if_contains(list); arr && arr->is_array())
                for (const auto &cs : arr->get_array())
                    if (cs.is_object()) before[str_at(cs.get_object(), {"name"})] = cs.get_object();
    for (const auto &c : rt.containers) {
        ContainerView v;
        v.name = c.name;
        v.image = c.image;
        v.unit = c.unit;
        v.init = c.init;
        if (rt.prepared && c.state && c.state->read_ok) v.unit_state = c.state;
        // Before it is prepared, a container shows why the pod cannot be, else its own state
        // (a pull in progress).
        v.waiting_reason = rt.prepared || rt.reason.empty() ? c.waiting_reason : rt.reason;
        v.waiting_message = rt.prepared || rt.reason.empty() ? c.waiting_message : rt.message;
        v.restart_count = c.restart_count;
        v.last_state = c.last_state;
        v.will_restart = c.will_restart;
        v.backoff = c.backoff.last_wait();
        v.final_state = c.final_state;
        if (auto b = before.find(c.name); b != before.end() && rt.prepared && c.state && (!c.state->read_ok || c.state->busy()))
            v.previous = b->second;
        view.containers.push_back(std::move(v));
    }
    auto status = compute_pod_status(view, previous, node::rfc3339_now());
    if (const auto phase = std::string(status.at("phase").as_string()); !previous || str_at(*previous, {"phase"}) != phase)
        spdlog::info("pod={} phase={}", rt.key, phase);
    status_.set(rt.key, rt.ns, rt.name, rt.uid, std::move(status));
}

}  // namespace systemk::pods
