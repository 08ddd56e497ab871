#include "metrics/agent_metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

using namespace systemk::metrics;
using namespace std::chrono_literals;

namespace {

// The value of the sample line that starts with `series` ("name{labels}"), or -1 when absent.
double value_of(const std::string &text, const std::string &series) {
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
}

double now_value(const std::string &series) { return value_of("\n" + agent_metrics_text({}), series); }

}  // namespace

TEST(AgentMetrics, CountsApiRequestsByCodeAndMethod) {
    const auto ok = R"(rest_client_requests_total{code="201",method="POST"})";
    const auto failed = R"(rest_client_requests_total{code="<error>",method="PATCH"})";
    const auto before_ok = std::max(0.0, now_value(ok)), before_failed = std::max(0.0, now_value(failed));
    api_request("POST", 201, 3ms);
    api_request("PATCH", 0, 30s);
    EXPECT_EQ(now_value(ok), before_ok + 1);
    EXPECT_EQ(now_value(failed), before_failed + 1);
    EXPECT_GE(now_value(R"(rest_client_request_duration_seconds_count{verb="PATCH"})"), 1);
    EXPECT_GE(now_value(R"(rest_client_request_duration_seconds_bucket{verb="PATCH",le="+Inf"})"), 1);
}

TEST(AgentMetrics, NamesTheResourceOfACollection) {
    EXPECT_EQ(resource_of("/api/v1/pods"), "pods");
    EXPECT_EQ(resource_of("/api/v1/namespaces/default/secrets"), "secrets");
    EXPECT_EQ(resource_of("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/"), "leases");
    EXPECT_EQ(resource_of("pods"), "pods");
}

TEST(AgentMetrics, CountsWatchRestartsAndListsByResource) {
    const auto series = R"(systemk_watch_restarts_total{resource="configmaps",reason="expired"})";
    const auto before = std::max(0.0, now_value(series));
    watch_restart("/api/v1/namespaces/a/configmaps", "expired");
    watch_restart("/api/v1/namespaces/b/configmaps", "expired");
    EXPECT_EQ(now_value(series), before + 2);
    const auto lists = R"(systemk_informer_lists_total{resource="configmaps"})";
    const auto lists_before = std::max(0.0, now_value(lists));
    informer_list("/api/v1/namespaces/a/configmaps");
    EXPECT_EQ(now_value(lists), lists_before + 1);
}

TEST(AgentMetrics, NamesUnitOperations) {
    EXPECT_EQ(unit_operation_name("StartUnit"), "start");
    EXPECT_EQ(unit_operation_name("StopUnit"), "stop");
    EXPECT_EQ(unit_operation_name("RestartUnit"), "restart");
    EXPECT_EQ(unit_operation_name("KillUnit"), "kill");
    EXPECT_EQ(unit_operation_name("ResetFailedUnit"), "reset_failed");
    EXPECT_EQ(unit_operation_name("Reload"), "daemon_reload");
    EXPECT_EQ(unit_operation_name("GetAll"), "get_properties");
    EXPECT_EQ(unit_operation_name("Other"), "Other");
}

TEST(AgentMetrics, OperationTimerRecordsResultOnceAndFailureWhenAbandoned) {
    const auto ok = R"(systemk_unit_operations_total{operation="kill",result="ok"})";
    const auto error = R"(systemk_unit_operations_total{operation="kill",result="error"})";
    const auto count = R"(systemk_unit_operation_duration_seconds_count{operation="kill"})";
    { auto first = unit_operation("KillUnit"); }  // make the series exist
    const auto ok0 = now_value(ok), error0 = now_value(error), count0 = now_value(count);
    {
        auto t = unit_operation("KillUnit");
        t.finish(true);
        t.finish(false);  // ignored: recorded already
    }
    EXPECT_EQ(now_value(ok), ok0 + 1);
    EXPECT_EQ(now_value(error), error0);
    try {
        auto t = unit_operation("KillUnit");
        throw std::runtime_error("systemd went away");
    } catch (const std::runtime_error &) {
    }
    EXPECT_EQ(now_value(error), error0 + 1);
    EXPECT_EQ(now_value(count), count0 + 2);
}

TEST(AgentMetrics, TimesPluginCallsByPluginAndCall) {
    { plugin_call("pkg-apt", "resolve").finish(false); }
    EXPECT_GE(now_value(R"(systemk_plugin_calls_total{plugin="pkg-apt",call="resolve",result="error"})"), 1);
    EXPECT_GE(now_value(R"(systemk_plugin_call_duration_seconds_count{plugin="pkg-apt",call="resolve"})"), 1);
}

TEST(AgentMetrics, ObservesPodSyncsAndWorkers) {
    const auto series = R"(systemk_pod_sync_duration_seconds_count{operation="terminate"})";
    const auto before = std::max(0.0, now_value(series));
    { const ScopedDuration timing(pod_sync_duration("terminate")); }
    EXPECT_EQ(now_value(series), before + 1);
    pod_workers(3, 7);
    EXPECT_EQ(now_value("systemk_pod_workers_running"), 3);
    EXPECT_EQ(now_value("systemk_pod_queue_depth"), 7);
    pod_workers(0, 0);
}

TEST(AgentMetrics, TextHasEveryFamilyOnceWithHelpAndType) {
    const std::vector<boost::json::object> pods{
        boost::json::parse(R"({"spec":{"containers":[{"name":"c"}]},"status":{"phase":"Running",
            "containerStatuses":[{"name":"c","state":{"running":{}}}]}})").as_object()};
    // Labelled families appear with their first child: touch every hook (each test may run alone).
    api_request("GET", 200, 1ms);
    watch_restart("/api/v1/pods", "closed");
    informer_list("/api/v1/pods");
    { unit_operation("StartUnit").finish(true); }
    { plugin_call("volumes", "prepare").finish(true); }
    { const ScopedDuration timing(pod_sync_duration("sync")); }
    const auto text = agent_metrics_text(pods);
    std::istringstream lines(text);
    std::set<std::string> typed, helped;
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("# ")) continue;
        const auto name = line.substr(7, line.find(' ', 7) - 7);
        if (line.starts_with("# TYPE ")) {
            EXPECT_TRUE(typed.insert(name).second) << line;
        } else if (line.starts_with("# HELP ")) {
            EXPECT_TRUE(helped.insert(name).second) << line;
        }
    }
    EXPECT_EQ(typed, helped);
    for (const char *family :
         {"rest_client_requests_total", "rest_client_request_duration_seconds", "systemk_watch_restarts_total",
          "systemk_informer_lists_total", "systemk_unit_operations_total", "systemk_unit_operation_duration_seconds",
          "systemk_plugin_calls_total", "systemk_plugin_call_duration_seconds", "systemk_pod_sync_duration_seconds",
          "systemk_pod_workers_running", "systemk_pod_queue_depth", "systemk_pods", "systemk_containers",
          "process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds",
          "process_open_fds"})
        EXPECT_TRUE(typed.count(family)) << family;
    EXPECT_EQ(value_of(text, R"(systemk_pods{phase="Running"})"), 1);
    EXPECT_EQ(value_of(text, R"(systemk_containers{state="running"})"), 1);
}
