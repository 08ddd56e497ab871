#pragma once
// The agent's own metrics (/metrics on the kubelet API): one process-wide registry, and a hook
// per instrumented spot so that each spot stays a line long. The hooks are cheap (atomics, a
// map lookup under a short lock) and safe from any thread.
#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.h"

namespace systemk::metrics {

// The registry every hook below writes to (made on first use).
Registry &agent_registry();

// Times an operation from construction; finish() records it with its result, and an object
// destroyed without finish() (an exception, an early co_return) records a failure.
class OperationTimer {
public:
    OperationTimer(Counter &succeeded, Counter &failed, Histogram &duration)
        : succeeded_(&succeeded), failed_(&failed), duration_(&duration), start_(std::chrono::steady_clock::now()) {}
    OperationTimer(const OperationTimer &) = delete;
    OperationTimer &operator=(const OperationTimer &) = delete;
    ~OperationTimer() { finish(false); }
    void finish(bool ok);

private:
    Counter *succeeded_, *failed_;
    Histogram *duration_;
    std::chrono::steady_clock::time_point start_;
    bool done_ = false;
};

// Observes the time from construction to destruction (a coroutine with many co_returns).
class ScopedDuration {
public:
    explicit ScopedDuration(Histogram &into) : into_(into), start_(std::chrono::steady_clock::now()) {}
    ScopedDuration(const ScopedDuration &) = delete;
    ScopedDuration &operator=(const ScopedDuration &) = delete;
    ~ScopedDuration() { into_.observe(std::chrono::steady_clock::now() - start_); }

private:
    Histogram &into_;
    std::chrono::steady_clock::time_point start_;
};

// One API request answered with HTTP `status`, or 0 when no response arrived.
void api_request(std::string_view method, unsigned status, std::chrono::steady_clock::duration took);
// A watch request answered with HTTP `status` (counted with the requests; its duration is not
// a latency).
void api_watch(unsigned status);
// A watch of `collection` ("/api/v1/namespaces/x/secrets") ends and is started again: reason
// "closed" (the server ended it), "expired" (410 Gone: relist) or "error".
void watch_restart(std::string_view collection, std::string_view reason);
// A complete list of `collection` (the first one and every relist).
void informer_list(std::string_view collection);
// The resource of a collection path: its last segment ("secrets").
std::string_view resource_of(std::string_view collection);
// A systemd D-Bus call by its method name (StartUnit, Reload, GetAll, ...).
OperationTimer unit_operation(std::string_view dbus_method);
// The operation label of a systemd D-Bus method: start, stop, daemon_reload, get_properties, ...
std::string_view unit_operation_name(std::string_view dbus_method);
// A call into a plugin ("resolve", "prepare", ...).
OperationTimer plugin_call(std::string_view plugin, std::string_view call);
// The pod workers: a run of one pod's worker ("sync", "terminate", "remove").
Histogram &pod_sync_duration(std::string_view operation);
void pod_workers(size_t running, size_t queued);

// Everything /metrics shows: the registry, the process, and the pods bound to this node (from
// the pod cache, at scrape time).
std::string agent_metrics_text(const std::vector<boost::json::object> &pods);

}  // namespace systemk::metrics
