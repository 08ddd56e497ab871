// Live volumes of running pods (issue 12): a referenced configMap or secret changing, a token
// falling due, or the pod's labels changing rewrites the volumes through the refresh hook while
// the containers keep running; a failed refresh keeps the pod running with a FailedMount Event.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>

#include "engine_fakes.h"
#include "kube/object_cache.h"
#include "pods/reconciler.h"
#include "pods/spec_error.h"
#include "units/synthesis.h"

using namespace systemk;
using namespace systemk::testing;
namespace json = boost::json;
using kube::http::verb;
using namespace std::chrono_literals;

namespace {

json::object make_pod(const std::string &labels = "{}") {
    return json::parse(R"({"metadata":{"namespace":"ns","name":"web","uid":"u1","labels":)" + labels +
                       R"(},"spec":{"containers":[{"name":"c","image":"/bin/sleep","command":["/bin/sleep","1000"]}],
                       "volumes":[{"name":"conf","configMap":{"name":"cm"}}]}})")
        .as_object();
}

struct Engine {
    asio::io_context io;
    FakeApi api;
    FakeUnits units;
    kube::ObjectCache pods;
    pods::NodeContext node;
    std::atomic<int> refreshed{0}, forgotten{0};
    std::atomic<bool> fail_refresh{false};
    std::mutex mutex;
    std::optional<std::chrono::system_clock::time_point> due;
    std::unique_ptr<pods::Reconciler> engine;
    std::filesystem::path dir;

    Engine() {
        dir = std::filesystem::temp_directory_path() / ("systemk-refresh-test-" + std::to_string(::getpid()));
        node.node_name = "node1";
        node.state_dir = (dir / "state").string();
        node.runtime_dir = (dir / "run").string();
        pods::EngineSettings settings;
        settings.poll_while_stopping = 10ms;
        settings.retry_after_error = 50ms;
        pods::VolumeHooks hooks;
        hooks.refresh = [this](const json::object &) {
            ++refreshed;
            if (fail_refresh) throw pods::SpecError("spec.volumes[0].configMap", "configMap 'cm' not found");
        };
        hooks.next_refresh = [this](const std::string &) {
            std::lock_guard lock(mutex);
            return due;
        };
        hooks.forget = [this](const std::string &) { ++forgotten; };
        engine = std::make_unique<pods::Reconciler>(
            io, api, units, [this](const json::object &pod, const pods::PullReporter &) { return synthesize(pod); }, node, pods,
            [](const json::object &) { return true; }, settings, hooks);
        units.on_change([this](const std::string &unit) { engine->unit_changed(unit); });
        engine->start();
    }
    ~Engine() {
        engine.reset();
        std::filesystem::remove_all(dir);
    }
    std::vector<units::PodUnit> synthesize(const json::object &pod) {
        static const pods::OfflineLookup offline;
        units::PodInputs in;
        in.pod = &pod;
        in.node = &node;
        in.objects = &offline;
        in.images["c"].resolver = "pkg-path";
        return units::synthesize_pod_units(in);
    }
    void put(const json::object &pod) {
        pods.upsert(pod);
        engine->enqueue("ns/web");
    }
    std::string phase() {
        const auto writes = api.matching(verb::patch, "/pods/web/status");
        if (writes.empty()) return "";
        return std::string(json::parse(writes.back().body).at("status").at("phase").as_string());
    }
    int events(const std::string &reason) {
        int n = 0;
        for (const auto &r : api.matching(verb::post, "/events")) n += json::parse(r.body).at("reason") == reason.c_str();
        return n;
    }
    bool run_until(const std::function<bool()> &done, int rounds = 200) { return pump(io, done, rounds); }
    // Lets the engine settle: every queued sync has run.
    void settle() { run_until([] { return false; }, 20); }
};

}  // namespace

TEST(VolumeRefresh, AChangedReferencedObjectRewritesARunningPodsVolumes) {
    Engine e;
    e.put(make_pod());
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.settle();
    EXPECT_EQ(e.refreshed, 0);  // preparing wrote them; nothing changed since
    e.engine->object_changed("ns/other");
    e.engine->object_changed("elsewhere/cm");
    e.settle();
    EXPECT_EQ(e.refreshed, 0);
    e.engine->object_changed("ns/cm");
    ASSERT_TRUE(e.run_until([&] { return e.refreshed == 1; }));
    e.settle();
    EXPECT_EQ(e.refreshed, 1);
    EXPECT_EQ(std::count(e.units.calls.begin(), e.units.calls.end(), "start systemk.ns.web.c.service"), 1);  // no restart
}

TEST(VolumeRefresh, ATokenFallingDueRewritesTheVolumes) {
    Engine e;
    {
        std::lock_guard lock(e.mutex);
        e.due = std::chrono::system_clock::now() + 300ms;
    }
    e.put(make_pod());
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    EXPECT_EQ(e.refreshed, 0);
    // No other event: the engine wakes itself up when the token is due.
    ASSERT_TRUE(e.run_until([&] { return e.refreshed == 1; }));
    std::lock_guard lock(e.mutex);
    e.due = std::chrono::system_clock::now() + 1h;
}

TEST(VolumeRefresh, ChangedLabelsRewriteTheVolumes) {
    Engine e;
    e.put(make_pod(R"({"a":"1"})"));
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.put(make_pod(R"({"a":"1"})"));
    e.settle();
    EXPECT_EQ(e.refreshed, 0);
    e.put(make_pod(R"({"a":"2"})"));
    ASSERT_TRUE(e.run_until([&] { return e.refreshed == 1; }));
}

TEST(VolumeRefresh, AFailedRefreshKeepsThePodRunningAndIsRetried) {
    Engine e;
    e.put(make_pod());
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.fail_refresh = true;
    e.engine->object_changed("ns/cm");
    ASSERT_TRUE(e.run_until([&] { return e.events("FailedMount") >= 1 && e.refreshed >= 2; }));
    EXPECT_EQ(e.phase(), "Running");
    e.fail_refresh = false;
    const int before = e.refreshed;
    ASSERT_TRUE(e.run_until([&] { return e.refreshed > before; }));
    const int after = e.refreshed;
    e.settle();
    EXPECT_EQ(e.refreshed, after);  // succeeded: not retried again
}

TEST(VolumeRefresh, AGonePodsTokensAreForgotten) {
    Engine e;
    e.put(make_pod());
    ASSERT_TRUE(e.run_until([&] { return e.phase() == "Running"; }));
    e.pods.erase("ns/web");
    e.engine->enqueue("ns/web");
    ASSERT_TRUE(e.run_until([&] { return e.forgotten >= 1; }));
}
