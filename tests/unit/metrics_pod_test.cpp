#include "metrics/pod_metrics.h"

#include <gtest/gtest.h>

using namespace systemk::metrics;
namespace json = boost::json;

namespace {
json::object pod(const char *text) { return json::parse(text).as_object(); }
}  // namespace

TEST(MetricsPods, CountsPodsByPhaseAndContainersByState) {
    const std::vector<json::object> pods{
        pod(R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]},
                "status":{"phase":"Running","containerStatuses":[
                  {"name":"a","state":{"running":{}}},{"name":"b","state":{"terminated":{"exitCode":0}}}]}})"),
        pod(R"({"spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"c"}]},
                "status":{"phase":"Pending","initContainerStatuses":[{"name":"i","state":{"running":{}}}],
                          "containerStatuses":[{"name":"c","state":{"waiting":{"reason":"PodInitializing"}}}]}})"),
        pod(R"({"spec":{"containers":[{"name":"new"}]}})"),  // no status yet: Pending, waiting
        pod(R"({"status":{"phase":"Succeeded"}})"),
    };
    const auto c = count_pods(pods);
    EXPECT_EQ(c.pods_by_phase.at("Running"), 1);
    EXPECT_EQ(c.pods_by_phase.at("Pending"), 2);
    EXPECT_EQ(c.pods_by_phase.at("Succeeded"), 1);
    EXPECT_EQ(c.pods_by_phase.at("Failed"), 0);
    EXPECT_EQ(c.pods_by_phase.at("Unknown"), 0);
    EXPECT_EQ(c.containers_by_state.at("running"), 2);
    EXPECT_EQ(c.containers_by_state.at("terminated"), 1);
    EXPECT_EQ(c.containers_by_state.at("waiting"), 2);
}

TEST(MetricsPods, WritesEveryPhaseAndStateEvenWithoutPods) {
    TextWriter out;
    write_pod_metrics(out, {});
    const auto &text = out.text();
    EXPECT_NE(text.find("# TYPE systemk_pods gauge\n"), std::string::npos);
    for (const char *phase : {"Pending", "Running", "Succeeded", "Failed", "Unknown"})
        EXPECT_NE(text.find(std::string("systemk_pods{phase=\"") + phase + "\"} 0\n"), std::string::npos) << phase;
    for (const char *state : {"running", "waiting", "terminated"})
        EXPECT_NE(text.find(std::string("systemk_containers{state=\"") + state + "\"} 0\n"), std::string::npos) << state;
}

TEST(MetricsPods, IgnoresMalformedStatus) {
    const std::vector<json::object> pods{pod(R"({"spec":"x","status":{"phase":7,"containerStatuses":[1,{"state":"?"}]}})")};
    const auto c = count_pods(pods);
    EXPECT_EQ(c.pods_by_phase.at("Pending"), 1);
    EXPECT_EQ(c.containers_by_state.at("waiting"), 2);
}
