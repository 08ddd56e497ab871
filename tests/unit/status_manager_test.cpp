// The pod status as pure functions (the kubelet's getPhase and condition rules, as tables) and
// the StatusManager that writes it.
#include <gtest/gtest.h>

#include "engine_fakes.h"
#include "pods/pod_status.h"
#include "pods/status_manager.h"

using namespace systemk;
using namespace systemk::testing;
namespace json = boost::json;

namespace {

json::object running() { return {{"state", json::object{{"running", json::object{}}}}}; }
json::object terminated(int code) {
    return {{"state", json::object{{"terminated", json::object{{"exitCode", code}}}}}};
}
json::object waiting() { return {{"state", json::object{{"waiting", json::object{{"reason", "ContainerCreating"}}}}}}; }
json::object restarting(int last_code) {
    return {{"state", json::object{{"waiting", json::object{{"reason", "CrashLoopBackOff"}}}}},
            {"lastState", json::object{{"terminated", json::object{{"exitCode", last_code}}}}}};
}

struct PhaseCase {
    const char *name;
    const char *policy;
    json::array init, app;
    const char *phase;
};

}  // namespace

TEST(PodPhase, FollowsTheKubeletTable) {
    const std::vector<PhaseCase> cases = {
        {"all waiting", "Always", {}, {waiting(), waiting()}, "Pending"},
        {"one running, one waiting", "Always", {}, {running(), waiting()}, "Pending"},
        {"all running", "Always", {}, {running(), running()}, "Running"},
        {"running and succeeded", "Never", {}, {running(), terminated(0)}, "Running"},
        {"all succeeded, Never", "Never", {}, {terminated(0), terminated(0)}, "Succeeded"},
        {"one failed, Never", "Never", {}, {terminated(0), terminated(1)}, "Failed"},
        {"one failed, OnFailure", "OnFailure", {}, {terminated(0), terminated(1)}, "Running"},
        {"all succeeded, OnFailure", "OnFailure", {}, {terminated(0)}, "Succeeded"},
        {"all stopped, Always", "Always", {}, {terminated(0), terminated(2)}, "Running"},
        {"crash loop, Always", "Always", {}, {restarting(1)}, "Running"},
        {"init running", "Always", {running()}, {waiting()}, "Pending"},
        {"init succeeded, app running", "Always", {terminated(0)}, {running()}, "Running"},
        {"init failed, Never", "Never", {terminated(1)}, {waiting()}, "Failed"},
        {"init failed, OnFailure retries", "OnFailure", {restarting(1)}, {waiting()}, "Pending"},
        {"no containers", "Always", {}, {}, "Pending"},
    };
    for (const auto &c : cases)
        EXPECT_EQ(pods::pod_phase(c.policy, c.init, c.app), c.phase) << c.name;
}

TEST(PodConditions, TransitionTimesMoveOnlyWhenTheStatusChanges) {
    const json::array previous = {
        json::object{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", "2020-01-01T00:00:00Z"}},
        json::object{{"type", "Initialized"}, {"status", "True"}, {"lastTransitionTime", "2020-01-01T00:00:01Z"}},
        json::object{{"type", "ContainersReady"}, {"status", "False"}, {"lastTransitionTime", "2020-01-01T00:00:02Z"}},
    };
    const auto out = pods::node_conditions(true, true, "Running", &previous, "2030-01-01T00:00:00Z");
    std::map<std::string, std::string> since;
    for (const auto &c : out) since[std::string(c.at("type").as_string())] = c.at("lastTransitionTime").as_string().c_str();
    EXPECT_EQ(since["Ready"], "2020-01-01T00:00:00Z");           // unchanged: kept (agent restart)
    EXPECT_EQ(since["Initialized"], "2020-01-01T00:00:01Z");
    EXPECT_EQ(since["ContainersReady"], "2030-01-01T00:00:00Z");  // False -> True: now
}

TEST(PodConditions, OnlyTheNodesConditionsAreWritten) {
    const auto out = pods::node_conditions(false, false, "Pending", nullptr, "now");
    std::set<std::string> types;
    for (const auto &c : out) types.insert(std::string(c.at("type").as_string()));
    // Not PodScheduled (the scheduler's), not readiness gates or DisruptionTarget (others').
    EXPECT_EQ(types, (std::set<std::string>{"Initialized", "Ready", "ContainersReady"}));
}

TEST(ContainerStatus, FromUnitStates) {
    systemd::UnitState s;
    s.load_state = "loaded";
    s.active_state = "active";
    s.sub_state = "running";
    s.started_usec = 1764111600000000ULL;
    s.invocation_id = "a";
    pods::ContainerView c;
    c.name = "c";
    c.unit = "systemk.ns.p.c.service";
    c.unit_state = s;
    auto cs = pods::container_status(c);
    EXPECT_EQ(cs.at("state").at("running").at("startedAt"), "2025-11-25T23:00:00Z");
    EXPECT_TRUE(cs.at("ready").as_bool());
    EXPECT_TRUE(cs.at("started").as_bool());
    // Forked but not started as systemd sees it (a notify daemon before READY=1, a Type=exec
    // command before its exec): running, not yet started or ready.
    for (const char *sub : {"start", "start-pre", "start-post"}) {
        s.active_state = "activating";
        s.sub_state = sub;
        c.unit_state = s;
        cs = pods::container_status(c);
        EXPECT_TRUE(cs.at("state").as_object().contains("running")) << sub;
        EXPECT_FALSE(cs.at("ready").as_bool()) << sub;
        EXPECT_FALSE(cs.at("started").as_bool()) << sub;
        EXPECT_EQ(pods::pod_phase("Always", {}, json::array{cs}), "Running") << sub;
    }
    // A package's oneshot service: its whole run is "activating".
    s.service_type = "oneshot";
    c.unit_state = s;
    EXPECT_TRUE(pods::container_status(c).at("ready").as_bool());
    s.service_type = "exec";
    // A daemon reloading its configuration stays ready.
    s.active_state = "reloading";
    s.sub_state = "reload";
    c.unit_state = s;
    EXPECT_TRUE(pods::container_status(c).at("ready").as_bool());
    // A systemd error while not running: waiting with the reason and systemd's message.
    s.active_state = "failed";
    s.sub_state = "failed";
    c.unit_state = s;
    c.waiting_reason = "RunContainerError";
    c.waiting_message = "systemd: bad setting";
    cs = pods::container_status(c);
    EXPECT_EQ(cs.at("state").at("waiting").at("reason"), "RunContainerError");
    EXPECT_EQ(cs.at("state").at("waiting").at("message"), "systemd: bad setting");
    // Unknown (read failed): the previous report stands.
    c.unit_state.reset();
    c.waiting_reason.clear();
    c.previous = json::object{{"name", "c"}, {"state", json::object{{"running", json::object{}}}}};
    EXPECT_EQ(pods::container_status(c), *c.previous);
}

TEST(ContainerStatus, AnInitContainerThatSucceededIsReady) {
    systemd::UnitState s;
    s.load_state = "loaded";
    s.active_state = "active";  // oneshot + RemainAfterExit: "active (exited)" once done
    s.sub_state = "exited";
    s.service_type = "oneshot";
    s.result = "success";
    s.exit_code = 1;  // CLD_EXITED
    s.started_usec = 1764111600000000ULL;
    s.exited_usec = 1764111601000000ULL;
    pods::ContainerView c;
    c.name = "init";
    c.init = true;
    c.unit_state = s;
    auto cs = pods::container_status(c);
    EXPECT_EQ(cs.at("state").at("terminated").at("exitCode"), 0);
    EXPECT_TRUE(cs.at("ready").as_bool());
    // Running (a oneshot's "activating"): started, not ready.
    s.active_state = "activating";
    s.sub_state = "start";
    c.unit_state = s;
    cs = pods::container_status(c);
    EXPECT_TRUE(cs.at("started").as_bool());
    EXPECT_FALSE(cs.at("ready").as_bool());
    // Failed: not ready.
    s.active_state = "failed";
    s.sub_state = "failed";
    s.result = "exit-code";
    s.exit_status = 3;
    c.unit_state = s;
    EXPECT_FALSE(pods::container_status(c).at("ready").as_bool());
}

TEST(ContainerStatus, AUnitBeingStartedHasNotFinished) {
    systemd::UnitState s;
    s.load_state = "loaded";
    s.active_state = "inactive";  // a start job is queued; systemd already gave it an InvocationID
    s.sub_state = "dead";
    s.invocation_id = "abc";
    s.job_id = 5;
    pods::ContainerView c;
    c.name = "c";
    c.unit_state = s;
    const auto cs = pods::container_status(c);
    EXPECT_EQ(cs.at("state").at("waiting").at("reason"), "ContainerCreating");
    EXPECT_EQ(pods::pod_phase("Never", {}, json::array{cs}), "Pending");
}

TEST(ContainerStatus, FinalStateFromTheApi) {
    // Ran and finished before a reboot: its terminated state stands.
    auto t = pods::state_from_api(terminated(0));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->at("terminated").at("exitCode"), 0);
    // Was running when the node went down: ContainerStatusUnknown, like the kubelet.
    auto r = pods::state_from_api(json::object{{"state", json::object{{"running", json::object{}}}}, {"containerID", "systemd://u"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->at("terminated").at("reason"), "ContainerStatusUnknown");
    EXPECT_EQ(r->at("terminated").at("exitCode"), 137);
    // Never ran.
    EXPECT_FALSE(pods::state_from_api(waiting()));
}

TEST(PodStatus, StartTimeAndConditionsSeededFromTheApiStatus) {
    pods::PodView v;
    v.name = "p";
    v.host_ip = "10.0.0.1";
    const json::object previous{{"startTime", "2020-01-01T00:00:00Z"},
                                {"conditions", json::array{json::object{{"type", "Ready"}, {"status", "False"},
                                                                        {"lastTransitionTime", "2020-01-01T00:00:05Z"}}}}};
    const auto st = pods::compute_pod_status(v, &previous, "2030-01-01T00:00:00Z");
    EXPECT_EQ(st.at("startTime"), "2020-01-01T00:00:00Z");
    for (const auto &c : st.at("conditions").as_array())
        if (c.at("type") == "Ready") {
            EXPECT_EQ(c.at("lastTransitionTime"), "2020-01-01T00:00:05Z");
        }
}

TEST(StatusManager, WritesAStrategicMergePatchWithTheUid) {
    asio::io_context io;
    FakeApi api;
    pods::StatusManager sm(io.get_executor(), api, 1);
    sm.set("ns/p", "ns", "p", "uid-1", json::object{{"phase", "Running"}});
    pump(io, [&] { return api.requests.size() == 1; });
    ASSERT_EQ(api.requests.size(), 1u);
    EXPECT_EQ(api.requests[0].verb, kube::http::verb::patch);
    EXPECT_EQ(api.requests[0].target, "/api/v1/namespaces/ns/pods/p/status");
    EXPECT_EQ(api.requests[0].content_type, "application/strategic-merge-patch+json");
    const auto body = json::parse(api.requests[0].body);
    EXPECT_EQ(body.at("metadata").at("uid"), "uid-1");
    EXPECT_EQ(body.at("status").at("phase"), "Running");
    // The same status again is not written again.
    sm.set("ns/p", "ns", "p", "uid-1", json::object{{"phase", "Running"}});
    pump(io, [] { return false; }, 5);
    EXPECT_EQ(api.requests.size(), 1u);
}

TEST(StatusManager, CoalescesChangesWhileAWriteIsInFlight) {
    asio::io_context io;
    FakeApi api;
    pods::StatusManager sm(io.get_executor(), api, 1);
    for (int i = 0; i < 20; ++i) sm.set("ns/p", "ns", "p", "u", json::object{{"n", i}});
    pump(io, [&] { return sm.pending() == 0 && api.requests.size() >= 1; });
    pump(io, [] { return false; }, 5);
    ASSERT_EQ(api.requests.size(), 1u);
    EXPECT_EQ(json::parse(api.requests[0].body).at("status").at("n"), 19);
}

TEST(StatusManager, ATerminalPhaseIsNeverWrittenAgain) {
    asio::io_context io;
    FakeApi api;
    pods::StatusManager sm(io.get_executor(), api, 1);
    sm.set("ns/p", "ns", "p", "u", json::object{{"phase", "Succeeded"}});
    pump(io, [&] { return api.requests.size() == 1; });
    sm.set("ns/p", "ns", "p", "u", json::object{{"phase", "Running"}});
    pump(io, [] { return false; }, 5);
    EXPECT_EQ(api.requests.size(), 1u);
}

TEST(StatusManager, AConflictDropsTheStatusOfAReplacedPod) {
    asio::io_context io;
    FakeApi api;
    api.answer = [](const RecordedRequest &) { return kube::ApiResponse{409, "{}"}; };
    pods::StatusManager sm(io.get_executor(), api, 1);
    sm.set("ns/p", "ns", "p", "old", json::object{{"phase", "Running"}});
    pump(io, [&] { return api.requests.size() == 1; });
    pump(io, [] { return false; }, 10);
    EXPECT_EQ(api.requests.size(), 1u);  // not retried
    EXPECT_EQ(sm.latest("ns/p"), nullptr);
}

TEST(StatusManager, RetriesServerErrors) {
    asio::io_context io;
    FakeApi api;
    int calls = 0;
    api.answer = [&](const RecordedRequest &) { return kube::ApiResponse{++calls == 1 ? 500u : 200u, "{}"}; };
    pods::StatusManager sm(io.get_executor(), api, 1);
    sm.set("ns/p", "ns", "p", "u", json::object{{"phase", "Running"}});
    EXPECT_TRUE(pump(io, [&] { return sm.writes() == 1; }, 400));
    EXPECT_EQ(api.requests.size(), 2u);
}
