#include "metrics/agent_metrics.h"

#include "metrics/pod_metrics.h"
#include "metrics/process_metrics.h"

namespace systemk::metrics {
namespace {

// Names follow the kubelet's where the meaning is the same (client-go's rest_client_*), else
// systemk_*.
struct AgentFamilies {
    Registry registry;
    CounterFamily &api_requests = registry.counter(
        "rest_client_requests_total",
        "API server requests by HTTP status code (\"<error>\": no response) and method; watches count when their "
        "response starts.",
        {"code", "method"});
    HistogramFamily &api_duration = registry.histogram(
        "rest_client_request_duration_seconds",
        "Time from sending an API server request to its whole response, by method (watches not included).", {"verb"},
        duration_buckets());
    CounterFamily &watch_restarts = registry.counter(
        "systemk_watch_restarts_total",
        "Watches started again, by resource and reason: closed (the server ended it), expired (410 Gone, relisted), "
        "error (the watch or its list failed, or sent an error; retried with backoff).",
        {"resource", "reason"});
    CounterFamily &lists = registry.counter("systemk_informer_lists_total",
                                            "Complete lists of a watched resource: the first one and every relist.",
                                            {"resource"});
    CounterFamily &unit_operations = registry.counter(
        "systemk_unit_operations_total", "Calls to systemd by operation and result (ok or error).",
        {"operation", "result"});
    HistogramFamily &unit_duration = registry.histogram(
        "systemk_unit_operation_duration_seconds", "Time systemd took to answer a call, by operation.", {"operation"},
        duration_buckets());
    CounterFamily &plugin_calls = registry.counter(
        "systemk_plugin_calls_total", "Calls into plugins by plugin, call and result (ok or error).",
        {"plugin", "call", "result"});
    HistogramFamily &plugin_duration = registry.histogram(
        "systemk_plugin_call_duration_seconds",
        "Time a plugin call took (an image resolve includes its package install), by plugin and call.",
        {"plugin", "call"}, duration_buckets());
    HistogramFamily &pod_sync = registry.histogram(
        "systemk_pod_sync_duration_seconds",
        "Time one run of a pod's worker took, by operation: sync (bring it to its spec, including preparing it), "
        "terminate (stop a deleted pod), remove (clean up a pod gone from the API).",
        {"operation"}, duration_buckets());
    Gauge &workers_running =
        registry.gauge("systemk_pod_workers_running", "Pods whose worker runs now.").with({});
    Gauge &queue_depth = registry.gauge(
        "systemk_pod_queue_depth",
        "Pods waiting for their worker: over the concurrency limit, or changed again while their worker runs.")
                             .with({});
};

AgentFamilies &families() {
    static AgentFamilies f;
    return f;
}

}  // namespace

Registry &agent_registry() { return families().registry; }

void OperationTimer::finish(bool ok) {
    if (done_) return;
    done_ = true;
    duration_->observe(std::chrono::steady_clock::now() - start_);
    (ok ? succeeded_ : failed_)->inc();
}

void api_request(std::string_view method, unsigned status, std::chrono::steady_clock::duration took) {
    auto &f = families();
    const auto code = status == 0 ? std::string("<error>") : std::to_string(status);
    f.api_requests.with({code, method}).inc();
    f.api_duration.with({method}).observe(took);
}

void api_watch(unsigned status) { families().api_requests.with({std::to_string(status), "GET"}).inc(); }

std::string_view resource_of(std::string_view collection) {
    while (collection.ends_with('/')) collection.remove_suffix(1);
    const auto slash = collection.rfind('/');
    return slash == std::string_view::npos ? collection : collection.substr(slash + 1);
}

void watch_restart(std::string_view collection, std::string_view reason) {
    families().watch_restarts.with({resource_of(collection), reason}).inc();
}

void informer_list(std::string_view collection) { families().lists.with({resource_of(collection)}).inc(); }

std::string_view unit_operation_name(std::string_view dbus_method) {
    static constexpr std::pair<std::string_view, std::string_view> names[] = {
        {"StartUnit", "start"},       {"RestartUnit", "restart"},          {"StopUnit", "stop"},
        {"KillUnit", "kill"},         {"ResetFailedUnit", "reset_failed"}, {"Reload", "daemon_reload"},
        {"GetAll", "get_properties"},
    };
    for (const auto &[method, name] : names)
        if (method == dbus_method) return name;
    return dbus_method;
}

OperationTimer unit_operation(std::string_view dbus_method) {
    auto &f = families();
    const auto op = unit_operation_name(dbus_method);
    return OperationTimer(f.unit_operations.with({op, "ok"}), f.unit_operations.with({op, "error"}),
                          f.unit_duration.with({op}));
}

OperationTimer plugin_call(std::string_view plugin, std::string_view call) {
    auto &f = families();
    return OperationTimer(f.plugin_calls.with({plugin, call, "ok"}), f.plugin_calls.with({plugin, call, "error"}),
                          f.plugin_duration.with({plugin, call}));
}

Histogram &pod_sync_duration(std::string_view operation) { return families().pod_sync.with({operation}); }

void pod_workers(size_t running, size_t queued) {
    auto &f = families();
    f.workers_running.set(static_cast<double>(running));
    f.queue_depth.set(static_cast<double>(queued));
}

std::string agent_metrics_text(const std::vector<boost::json::object> &pods) {
    TextWriter out;
    agent_registry().write(out);
    write_pod_metrics(out, pods);
    write_process_metrics(out);
    return out.take();
}

}  // namespace systemk::metrics
