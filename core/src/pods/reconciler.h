#pragma once
// Pods bound to this node -> systemd units, the kubelet's way: every change (pod event, unit
// signal, timer, periodic resync) adds the pod's key to a work queue; one worker per pod (many
// pods at once, as coroutines) brings it to the desired state without blocking anything else:
// systemd calls are asynchronous, plugin work (images, volumes) runs on a thread pool, and
// status and Events are handed to their own writers (StatusManager, EventRecorder).
// Termination works from the units' [X-Kubernetes] identity alone, so a pod that never
// prepared can still be deleted, and units of an older pod under the same name are removed
// before the new one starts.
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/api_client.h"
#include "kube/object_cache.h"
#include "kube/referenced_objects.h"
#include "kube/token_manager.h"
#include "plugins/plugin_loader.h"
#include "pods/backoff.h"
#include "pods/event_recorder.h"
#include "pods/node_context.h"
#include "pods/pod_api.h"
#include "pods/pod_preparation.h"
#include "pods/status_manager.h"
#include "pods/work_queue.h"
#include "systemd/unit_control.h"
#include "units/synthesis.h"

namespace systemk::pods {

// Turns a pod into its units (resolve images, prepare volumes, synthesize). Runs on a worker
// thread; throws SpecError for pods that cannot run. Image pulls are told to `report`.
using Preparer = std::function<std::vector<units::PodUnit>(const boost::json::object &pod, const PullReporter &report)>;

// The live part of a pod's volumes (configMap, secret, downwardAPI, projected with its tokens):
// rewritten while the pod runs when their inputs change. Empty members do nothing.
struct VolumeHooks {
    // Rewrites the pod's live volumes from current content; runs on a worker thread, throws
    // SpecError (the volume keeps its old content).
    std::function<void(const boost::json::object &pod)> refresh;
    // When the pod's volumes are due again (a token's renewal or retry), if ever.
    std::function<std::optional<std::chrono::system_clock::time_point>(const std::string &uid)> next_refresh;
    // The pod is gone for good (its tokens are dropped).
    std::function<void(const std::string &uid)> forget;
    // Removes the volumes and directories of a pod that is gone; runs on a worker thread.
    // Unset: pods::remove_pod_files.
    std::function<void(const std::string &uid)> cleanup;
    // At start: cleans up the pods on disk whose UID is not in the set (deleted while the agent
    // was down); runs before any pod is prepared.
    std::function<void(const std::set<std::string> &known_uids)> cleanup_orphans;
};

struct EngineSettings {
    std::chrono::milliseconds resync_period{30000};
    std::chrono::milliseconds poll_while_stopping{500};
    std::chrono::milliseconds retry_after_error{10000};
    size_t prepare_threads = 2;
    // Pods whose images must be pulled (packages installed) are prepared on these instead, so
    // that a long install never holds a prepare thread other pods need.
    size_t pull_threads = 4;
};

class Reconciler {
public:
    // The agent's engine.
    Reconciler(boost::asio::io_context &io, kube::ApiClient &client, systemd::UnitControl &units,
               const plugins::PluginRegistry &plugins, NodeContext node, kube::ObjectCache &pods,
               kube::ReferencedObjects &referenced, kube::TokenManager &tokens);
    // The engine with its seams explicit (tests).
    Reconciler(boost::asio::io_context &io, PodApi &api, systemd::UnitControl &units, Preparer preparer, NodeContext node,
               kube::ObjectCache &pods, std::function<bool(const boost::json::object &)> objects_synced,
               EngineSettings settings = {}, VolumeHooks volume_hooks = {});
    ~Reconciler();

    void enqueue(const std::string &pod_key);
    void unit_changed(const std::string &unit);
    void object_changed(const std::string &object_key);  // a configMap/secret "ns/name"
    // Reads the units on disk and starts working; call once the pod cache has synced.
    void start();
    // Signals may have been missed (reconnect, systemd re-exec): look at every pod again.
    void resync_all();
    size_t queue_length() const { return queue_.running() + queue_.waiting(); }
    StatusManager &status_manager() { return status_; }
    EventRecorder &events() { return events_; }

private:
    struct Container {
        std::string name, image, unit;
        bool init = false;
        std::optional<units::PodUnit> pod_unit;
        std::string unit_text;
        int restart_count = 0;
        boost::json::value last_state = boost::json::object{};
        CrashBackoff backoff;
        bool will_restart = false;
        std::string restarted_after;   // invocation whose exit the last restart followed
        std::string reaped;            // invocation whose leftover processes were killed
        std::string failed_start;      // invocation whose failed start was reported
        bool expect_started = false;   // we started it: say "Started" when it runs
        std::string waiting_reason, waiting_message;
        std::optional<boost::json::object> final_state;   // ran before per the API: not rerun
        std::optional<boost::json::object> api_status;    // its entry in the API status
        std::optional<systemd::UnitState> state;           // read in this pass
    };
    struct PodRuntime {
        std::string key, uid, ns, name;
        std::string restart_policy = "Always";
        std::vector<Container> containers;
        bool prepared = false;
        bool volumes_stale = false;   // an input of a live volume changed since it was written
        std::string downward_meta;    // labels and annotations the downwardAPI files were written from
        bool api_checked = false;     // final states from the API status looked at
        std::string reason, message;  // why it cannot be prepared
        std::chrono::seconds pull_backoff{0};  // wait before the next try of a failed image pull
        std::chrono::steady_clock::time_point retry_pull_at{};
        std::string pulled_images;  // the images that failed to pull (a change is retried at once)
        bool stop_sent = false;
        std::optional<std::chrono::steady_clock::time_point> kill_at;
    };
    struct UnitIdentity {
        std::string key, uid;
    };

    boost::asio::awaitable<void> sync(std::string key);
    boost::asio::awaitable<void> sync_pod(PodRuntime &rt, const boost::json::object &pod);
    // Stops the units of `key` whose pod UID is not `keep_uid` (all when empty); true once none
    // of them runs any more and their files are gone.
    boost::asio::awaitable<bool> remove_units(const std::string &key, const std::string &keep_uid, bool kill_now);
    boost::asio::awaitable<void> terminate(PodRuntime &rt, const boost::json::object &pod);
    boost::asio::awaitable<bool> prepare(PodRuntime &rt, const boost::json::object &pod);
    // Rewrites the live volumes of a prepared pod when an input changed or a token is due.
    boost::asio::awaitable<void> refresh_volumes(PodRuntime &rt, const boost::json::object &pod);
    void forget_runtime(const std::string &uid);
    void remove_volumes(const std::string &uid);  // on a worker thread
    boost::asio::awaitable<bool> drive_container(PodRuntime &rt, Container &c);
    boost::asio::awaitable<void> start_container(PodRuntime &rt, Container &c);
    boost::asio::awaitable<systemd::UnitState> read_state(const std::string &unit);
    void container_error(PodRuntime &rt, Container &c, const std::string &reason, const std::string &message);
    void publish_status(PodRuntime &rt, const boost::json::object &pod);
    PodRuntime &runtime_for(const std::string &key, const boost::json::object &pod);
    void event(const PodRuntime &rt, const char *type, const std::string &reason, const std::string &message);
    void schedule_resync();

    boost::asio::io_context &io_;
    std::unique_ptr<PodApi> own_api_;
    PodApi &api_;
    systemd::UnitControl &units_;
    Preparer preparer_;
    NodeContext node_;
    kube::ObjectCache &pods_;
    std::function<bool(const boost::json::object &)> objects_synced_;
    EngineSettings settings_;
    VolumeHooks volume_hooks_;
    boost::asio::thread_pool pool_;
    boost::asio::thread_pool pull_pool_;
    StatusManager status_;
    EventRecorder events_;
    WorkQueue queue_;
    std::map<std::string, PodRuntime> runtimes_;
    std::map<std::string, UnitIdentity> unit_index_;  // unit -> pod, from the unit files
    std::set<std::string> stale_units_;  // removed while loaded: a new file needs a reload
    boost::asio::steady_timer resync_timer_;
    bool started_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace systemk::pods
