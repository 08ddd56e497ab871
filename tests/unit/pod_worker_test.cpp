// The pod engine (work queue, per-pod workers) against a fake systemd and a fake API server:
// termination from unit identity, adoption, UID mismatch, restarts, errors, grace periods.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "engine_fakes.h"
#include "kube/object_cache.h"
#include "pods/reconciler.h"
#include "pods/spec_error.h"
#include "units/synthesis.h"

using namespace systemk;
using namespace systemk::testing;
namespace json = boost::json;
using kube::http::verb;

namespace {

constexpr const char *kUnit = "systemk.ns.web.c.service";

json::object make_pod(const std::string &uid, const std::string &policy = "Always") {
    return json::parse(R"({"metadata":{"namespace":"ns","name":"web","uid":")" + uid +
                       R"("},"spec":{"restartPolicy":")" + policy +
                       R"(","terminationGracePeriodSeconds":2,"containers":[{"name":"c","image":"/bin/sleep","command":["/bin/sleep","1000"]}]}})")
        .as_object();
}

void set_deleting(json::object &pod, int grace) {
    pod["metadata"].as_object()["deletionTimestamp"] = "2030-01-01T00:00:00Z";
    pod["metadata"].as_object()["deletionGracePeriodSeconds"] = grace;
}

struct Engine {
    asio::io_context io;
    FakeApi api;
    FakeUnits units;
    kube::ObjectCache pods;
    std::atomic<int> prepared{0};
    std::atomic<int> prepared_while_deleting{0};
    std::atomic<bool> fail_prepare{false};
    pods::NodeContext node;
    std::unique_ptr<pods::Reconciler> engine;
    std::filesystem::path dir;

    explicit Engine(std::chrono::milliseconds resync = std::chrono::milliseconds(60000)) {
        dir = std::filesystem::temp_directory_path() / ("systemk-engine-test-" + std::to_string(::getpid()));
        node.node_name = "node1";
        node.internal_ip = "10.0.0.1";
        node.state_dir = (dir / "state").string();
        node.runtime_dir = (dir / "run").string();
        pods::EngineSettings settings;
        settings.resync_period = resync;
        settings.poll_while_stopping = std::chrono::milliseconds(10);
        settings.retry_after_error = std::chrono::milliseconds(50);
        engine = std::make_unique<pods::Reconciler>(io, api, units, preparer(), node, pods,
                                                    [](const json::object &) { return true; }, settings);
        units.on_change([this](const std::string &unit) { engine->unit_changed(unit); });
    }
    ~Engine() {
        engine.reset();
        std::filesystem::remove_all(dir);
    }
    pods::Preparer preparer() {
        return [this](const json::object &pod, const pods::PullReporter &) {
            ++prepared;
            if (pod.at("metadata").as_object().contains("deletionTimestamp")) ++prepared_while_deleting;
            if (fail_prepare) throw pods::SpecError("spec.volumes[0].configMap", "configMap 'missing' not found");
            if (pod.at("spec").at("containers").at(0).at("image") == "no-such-package")
                throw pods::SpecError("spec.containers[0].image", "package no-such-package is not known", "ErrImagePull");
            return synthesize(pod);
        };
    }
    std::vector<units::PodUnit> synthesize(const json::object &pod) {
        static const pods::OfflineLookup offline;
        units::PodInputs in;
        in.pod = &pod;
        in.node = &node;
        in.objects = &offline;
        units::ResolvedImage image;
        image.resolver = "pkg-path";
        in.images["c"] = image;
        return units::synthesize_pod_units(in);
    }
    // A unit file as an agent would have written it for `pod` (e.g. before a restart).
    void existing_unit(const json::object &pod) { units.files[kUnit] = units::write_unit(synthesize(pod).at(0).unit); }
    void put(const json::object &pod) {
        pods.upsert(pod);
        engine->enqueue("ns/web");
    }
    // The last status written, or null.
    std::optional<json::object> status() {
        const auto writes = api.matching(verb::patch, "/pods/web/status");
        if (writes.empty()) return std::nullopt;
        return json::parse(writes.back().body).at("status").as_object();
    }
    std::string phase() {
        const auto s = status();
        return s ? std::string(s->at("phase").as_string()) : "";
    }
    json::object container() { return status()->at("containerStatuses").at(0).as_object(); }
    bool run_until(const std::function<bool()> &done, int rounds = 200) { return pump(io, done, rounds); }
    int events(const std::string &reason) {
        int n = 0;
        for (const auto &r : api.matching(verb::post, "/events"))
            n += json::parse(r.body).at("reason") == reason.c_str();
        return n;
    }
};

bool has_call(const FakeUnits &u, const std::string &call) {
    return std::find(u.calls.begin(), u.calls.end(), call) != u.calls.end();
}

}  // namespace

TEST(PodWorker, StartsAPodWithoutADaemonReload) {
    Engine e;
    e.engine->start();
    e.put(make_pod("u1"));
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    EXPECT_TRUE(has_call(e.units, std::string("write ") + kUnit));
    EXPECT_TRUE(has_call(e.units, std::string("start ") + kUnit));
    EXPECT_FALSE(has_call(e.units, "reload"));
    EXPECT_NE(e.units.files.at(kUnit).find("PodUID=\"u1\""), std::string::npos);
    EXPECT_TRUE(e.run_until([&] { return e.events("Started") == 1; }));
}

// Defects 2 and 8: a pod that never prepared (missing configMap) is deleted, without preparing.
TEST(PodWorker, APodThatNeverPreparedCanBeDeleted) {
    Engine e;
    e.fail_prepare = true;
    e.engine->start();
    auto pod = make_pod("u1");
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return e.status() && e.container().at("state").at("waiting").at("reason") == "CreateContainerConfigError"; }));
    set_deleting(pod, 30);
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return !e.api.matching(verb::delete_, "/pods/web").empty(); }));
    EXPECT_EQ(e.prepared_while_deleting, 0);
    const auto del = json::parse(e.api.matching(verb::delete_, "/pods/web").at(0).body);
    EXPECT_EQ(del.at("preconditions").at("uid"), "u1");
    EXPECT_EQ(del.at("gracePeriodSeconds"), 0);
    EXPECT_EQ(e.units.count("stop"), 0);
}

TEST(PodWorker, DeletingARunningPodStopsItsUnitsWithoutPreparing) {
    Engine e;
    e.engine->start();
    auto pod = make_pod("u1");
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    EXPECT_EQ(e.prepared, 1);
    set_deleting(pod, 30);
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return !e.api.matching(verb::delete_, "/pods/web").empty(); }));
    EXPECT_EQ(e.prepared, 1);
    EXPECT_EQ(e.prepared_while_deleting, 0);
    EXPECT_TRUE(has_call(e.units, std::string("stop ") + kUnit));
    EXPECT_EQ(e.units.files.count(kUnit), 0u);
    EXPECT_EQ(e.events("Killing"), 1);
}

// Defect 4: a same-name pod recreated while the agent was down runs fresh.
TEST(PodWorker, UnitsOfAnOlderPodOfTheSameNameAreRemovedFirst) {
    Engine e;
    e.existing_unit(make_pod("old"));
    auto s = e.units.current(kUnit);
    s.load_state = "loaded";
    s.active_state = "active";
    s.sub_state = "running";
    s.main_pid = 77;
    s.started_usec = 1;
    s.invocation_id = "old-run";
    e.units.states[kUnit] = s;
    e.pods.upsert(make_pod("new"));
    e.engine->start();
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    const auto stop = std::find(e.units.calls.begin(), e.units.calls.end(), std::string("stop ") + kUnit);
    const auto write = std::find(e.units.calls.begin(), e.units.calls.end(), std::string("write ") + kUnit);
    ASSERT_NE(stop, e.units.calls.end());
    ASSERT_NE(write, e.units.calls.end());
    EXPECT_LT(stop - e.units.calls.begin(), write - e.units.calls.begin());
    EXPECT_NE(e.units.files.at(kUnit).find("PodUID=\"new\""), std::string::npos);
    EXPECT_NE(e.units.states.at(kUnit).invocation_id, "old-run");
    EXPECT_EQ(e.container().at("restartCount"), 0);
}

TEST(PodWorker, AdoptsTheRunningUnitOfTheSamePod) {
    Engine e;
    e.existing_unit(make_pod("u1"));
    auto s = e.units.current(kUnit);
    s.active_state = "active";
    s.sub_state = "running";
    s.main_pid = 77;
    s.started_usec = 1764111600000000ULL;
    s.invocation_id = "running";
    e.units.states[kUnit] = s;
    e.pods.upsert(make_pod("u1"));
    e.engine->start();
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    EXPECT_EQ(e.units.count("start"), 0);
    EXPECT_EQ(e.units.count("restart"), 0);
    EXPECT_EQ(e.units.count("stop"), 0);
    EXPECT_EQ(e.events("Started"), 0);
}

// Defect 5: a failed read is not "never started", and a unit with a job is busy.
TEST(PodWorker, AFailedReadOrABusyUnitIsNotActedOn) {
    Engine e;
    e.existing_unit(make_pod("u1"));
    e.units.reads_fail = true;
    e.pods.upsert(make_pod("u1"));
    e.engine->start();
    e.run_until([] { return false; }, 20);
    EXPECT_EQ(e.units.count("start"), 0);
    EXPECT_EQ(e.units.count("restart"), 0);
    e.units.reads_fail = false;
    auto s = e.units.current(kUnit);
    s.job_id = 12;  // a start job queued by someone: not ours to start again
    e.units.states[kUnit] = s;
    e.engine->enqueue("ns/web");
    e.run_until([] { return false; }, 20);
    EXPECT_EQ(e.units.count("start"), 0);
    EXPECT_EQ(e.units.count("restart"), 0);
}

// Defect 5: restarts counted per InvocationID, however many signals arrive.
TEST(PodWorker, RestartsAreCountedOncePerRun) {
    Engine e;
    e.engine->start();
    e.put(make_pod("u1"));
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.units.exit_main(kUnit, 3);
    for (int i = 0; i < 5; ++i) e.engine->enqueue("ns/web");
    ASSERT_TRUE(e.run_until([&] { return e.units.count("restart") == 1 && e.container().at("state").as_object().contains("running"); }));
    EXPECT_EQ(e.container().at("restartCount"), 1);
    EXPECT_EQ(e.container().at("lastState").at("terminated").at("exitCode"), 3);
    // The second crash waits 10 s: CrashLoopBackOff, a BackOff event, and no second restart.
    e.units.exit_main(kUnit, 3);
    for (int i = 0; i < 5; ++i) e.engine->enqueue("ns/web");
    ASSERT_TRUE(e.run_until([&] {
        return e.container().at("state").as_object().contains("waiting") &&
               e.container().at("state").at("waiting").at("reason") == "CrashLoopBackOff";
    }));
    EXPECT_EQ(e.units.count("restart"), 1);
    EXPECT_EQ(e.container().at("restartCount"), 1);
    EXPECT_TRUE(e.run_until([&] { return e.events("BackOff") == 1; }));
}

// Defect 7: a Never pod that ran before a reboot is not run again.
TEST(PodWorker, ANeverPodThatRanIsNotRerunAfterAReboot) {
    Engine e;
    auto pod = make_pod("u1", "Never");
    pod["status"] = json::parse(R"({"phase":"Running","containerStatuses":[{"name":"c","restartCount":0,
        "containerID":"systemd://systemk.ns.web.c.service","state":{"running":{"startedAt":"2020-01-01T00:00:00Z"}}}]})");
    e.pods.upsert(pod);
    e.engine->start();  // no unit files: the node rebooted
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Failed"; }));
    EXPECT_EQ(e.units.count("start"), 0);
    EXPECT_EQ(e.container().at("state").at("terminated").at("reason"), "ContainerStatusUnknown");
}

// Defect 10: systemd refusing a unit reaches the container status and an Event.
TEST(PodWorker, ASystemdRefusalIsAWaitingReasonAndAnEvent) {
    Engine e;
    e.units.start_refusals[kUnit] = {false, "org.freedesktop.systemd1.BadUnitSetting",
                                     "Unit systemk.ns.web.c.service has a bad unit file setting."};
    e.engine->start();
    e.put(make_pod("u1"));
    ASSERT_TRUE(e.run_until([&] { return e.status() && e.container().at("state").as_object().contains("waiting") &&
                                         e.container().at("state").at("waiting").at("reason") == "CreateContainerError"; }));
    EXPECT_NE(std::string(e.container().at("state").at("waiting").at("message").as_string()).find("bad unit file setting"),
              std::string::npos);
    EXPECT_TRUE(e.run_until([&] { return e.events("Failed") >= 1; }));
}

// Defect 7: the shortest grace wins, and a grace of 0 kills at once; "Killing" is said once.
TEST(PodWorker, AShorterGraceKillsEarlier) {
    Engine e;
    e.units.stop_hangs = true;
    e.engine->start();
    auto pod = make_pod("u1");
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    set_deleting(pod, 30);
    e.put(pod);
    e.run_until([] { return false; }, 20);
    EXPECT_TRUE(has_call(e.units, std::string("stop ") + kUnit));
    EXPECT_EQ(e.units.count("kill"), 0);
    EXPECT_TRUE(e.api.matching(verb::delete_, "/pods/web").empty());
    set_deleting(pod, 0);
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return !e.api.matching(verb::delete_, "/pods/web").empty(); }));
    EXPECT_TRUE(has_call(e.units, std::string("kill ") + kUnit + " 9"));
    EXPECT_EQ(e.events("Killing"), 1);
}

// Defect 11: a container whose main process exited has its leftover processes killed.
TEST(PodWorker, LeftoversOfAFinishedContainerAreKilled) {
    Engine e;
    e.engine->start();
    e.put(make_pod("u1", "Never"));
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.units.exit_main(kUnit, 0);
    e.engine->enqueue("ns/web");
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Succeeded"; }));
    EXPECT_TRUE(has_call(e.units, std::string("kill ") + kUnit + " 9"));
    EXPECT_EQ(e.units.count("restart"), 0);
}

// A container that has already exited when its start job returns (never seen running) still
// counts as started: its pod's status is written and it gets its Started Event.
TEST(PodWorker, AContainerDoneBeforeItIsSeenRunningStillGetsItsStatus) {
    Engine e;
    e.units.exits_at_start[kUnit] = 0;
    e.engine->start();
    e.put(make_pod("u1", "Never"));
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Succeeded"; }));
    EXPECT_TRUE(e.run_until([&] { return e.events("Started") == 1; }));
}

// Defect 9: the periodic resync restarts a dead Always container whose signal was missed.
TEST(PodWorker, TheResyncRestartsADeadContainerAfterAMissedSignal) {
    Engine e(std::chrono::milliseconds(30));
    e.engine->start();
    e.put(make_pod("u1"));
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.units.exit_main(kUnit, 1);  // no enqueue: the signal was lost
    ASSERT_TRUE(e.run_until([&] { return e.units.count("restart") == 1; }));
}

TEST(PodWorker, APodGoneFromTheApiHasItsUnitsAndFilesRemoved) {
    Engine e;
    e.existing_unit(make_pod("gone"));
    auto s = e.units.current(kUnit);
    s.active_state = "active";
    s.sub_state = "running";
    s.main_pid = 5;
    s.started_usec = 1;
    e.units.states[kUnit] = s;
    const auto pod_dir = std::filesystem::path(e.node.state_dir) / "pods" / "gone";
    std::filesystem::create_directories(pod_dir);
    e.engine->start();
    ASSERT_TRUE(e.run_until([&] { return e.units.files.empty(); }));
    EXPECT_TRUE(has_call(e.units, std::string("stop ") + kUnit));
    EXPECT_FALSE(std::filesystem::exists(pod_dir));
}

// Defect 7: terminationGracePeriodSeconds 0 must not become TimeoutStopSec=0 (no timeout).
TEST(PodWorker, ZeroGraceStillHasAStopTimeout) {
    Engine e;
    auto pod = make_pod("u1");
    pod["spec"].as_object()["terminationGracePeriodSeconds"] = 0;
    const auto text = units::write_unit(e.synthesize(pod).at(0).unit);
    EXPECT_NE(text.find("TimeoutStopSec=1s"), std::string::npos) << text;
}

// A failed pull waits out its back-off: the status it writes (which brings the pod back to its
// worker) and other updates do not pull again; a changed image is pulled at once.
TEST(PodWorker, AFailedPullBacksOffUntilTheImageChanges) {
    Engine e;
    e.engine->start();
    auto pod = make_pod("u1");
    pod["spec"].as_object()["containers"].as_array()[0].as_object()["image"] = "no-such-package";
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return e.status() && e.container().at("state").at("waiting").at("reason") == "ErrImagePull"; }));
    EXPECT_NE(std::string(e.container().at("state").at("waiting").at("message").as_string()).find("is not known"),
              std::string::npos);
    ASSERT_TRUE(e.run_until([&] { return e.events("ErrImagePull") == 1; }));
    const int tries = e.prepared;
    for (int i = 0; i < 3; ++i) e.put(pod);
    e.run_until([] { return false; }, 20);
    EXPECT_EQ(e.prepared, tries);
    pod["spec"].as_object()["containers"].as_array()[0].as_object()["image"] = "/bin/sleep";
    e.put(pod);
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    EXPECT_EQ(e.prepared, tries + 1);
}
