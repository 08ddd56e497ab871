#pragma once
// Pods bound to this node -> systemd units, level-triggered: every change (pod event, unit
// signal, timer) marks a pod dirty; one drainer brings it to the desired state and writes its
// status when it changed. The same path serves create, update, delete, resync and adoption
// after an agent restart.
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/api_client.h"
#include "kube/object_cache.h"
#include "kube/referenced_objects.h"
#include "plugins/plugin_loader.h"
#include "pods/container_status.h"
#include "pods/node_context.h"
#include "systemd/unit_manager.h"

namespace systemk::pods {

class Reconciler {
public:
    Reconciler(boost::asio::io_context &io, kube::ApiClient &client, systemd::UnitManager &units,
               const plugins::PluginRegistry &plugins, NodeContext node, kube::ObjectCache &pods,
               kube::ReferencedObjects &referenced);

    void enqueue(const std::string &pod_key);
    void unit_changed(const std::string &unit);
    void object_changed(const std::string &object_key);  // a configMap/secret "ns/name"
    // Adopts what systemd runs and starts working; call once the pod cache has synced.
    void start();
    size_t queue_length() const { return queue_.size(); }

private:
    struct Container {
        std::string name, unit, image;
        bool init = false;
        int restart_count = 0;
        std::chrono::seconds backoff{0};
        std::chrono::steady_clock::time_point next_start{};
        boost::json::value last_state = boost::json::object{};
        std::string last_invocation_seen;
    };
    struct PodRuntime {
        std::string key, uid, ns, name;
        std::string restart_policy = "Always";
        std::vector<Container> containers;
        std::map<std::string, std::string> unit_text;  // desired unit files
        bool prepared = false;
        std::string error_reason, error_message;
        bool stopping = false;
        std::chrono::steady_clock::time_point kill_at{};  // deletionGracePeriodSeconds runs out
        std::string start_time;
        std::map<std::string, std::pair<bool, std::string>> conditions;  // type -> (status, since)
        std::string last_status;
        std::string last_event;
    };

    boost::asio::awaitable<void> drain();
    boost::asio::awaitable<void> reconcile(const std::string &key);
    boost::asio::awaitable<void> terminate(PodRuntime &rt, const boost::json::object &pod);
    boost::asio::awaitable<void> write_status(PodRuntime &rt, const boost::json::object &pod);
    void remove_orphans(const std::string &key);
    void prepare(PodRuntime &rt, const boost::json::object &pod);
    void drive(PodRuntime &rt);
    bool drive_container(PodRuntime &rt, Container &c, const systemd::UnitState &s);
    void start_unit(PodRuntime &rt, Container &c);
    boost::json::object build_status(PodRuntime &rt, const boost::json::object &pod);
    void schedule(const std::string &key, std::chrono::milliseconds delay);
    // Unit state, read from systemd at most once per reconcile unless the unit was just started.
    const systemd::UnitState &unit_state(const std::string &unit);
    void event(PodRuntime &rt, const char *type, const std::string &reason, const std::string &message);
    void set_condition(PodRuntime &rt, const std::string &type, bool value);

    boost::asio::io_context &io_;
    kube::ApiClient &client_;
    systemd::UnitManager &units_;
    const plugins::PluginRegistry &plugins_;
    NodeContext node_;
    kube::ObjectCache &pods_;
    kube::ReferencedObjects &referenced_;
    std::map<std::string, PodRuntime> runtimes_;
    std::map<std::string, std::string> unit_owner_;  // unit -> pod key
    std::deque<std::string> queue_;
    std::set<std::string> dirty_;
    boost::asio::steady_timer wake_;
    std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> timers_;
    std::map<std::string, systemd::UnitState> state_cache_;  // valid during one reconcile
    bool started_ = false;
};

}  // namespace systemk::pods
