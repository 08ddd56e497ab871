// The instrumented places report to the agent's metrics: API requests and watches (against a
// scripted HTTPS server), an informer's lists and watch restarts, the pod work queue's depth.
// (The e2e case e2e_agent_metrics_metrics_endpoint sees the pod workers, systemd and plugin
// calls of a real pod.) Values are compared before and after: other tests in the same process
// report too.
#include <gtest/gtest.h>

#include <fstream>

#include "engine_fakes.h"
#include "kube/informer.h"
#include "kube/object_cache.h"
#include "metrics/agent_metrics.h"
#include "pods/work_queue.h"
#include "scripted_server.h"
#include "test_pki.h"

using namespace systemk;
using systemk::testing::ScriptedServer;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// The value of the sample `series` in /metrics now (0 when absent).
double metric(const std::string &series) {
    const auto text = "\n" + metrics::agent_metrics_text({});
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST(MetricsHooks, InformerCountsListsRequestsAndWatchRestartsByReason) {
    const auto dir = fs::temp_directory_path() / ("systemk-metrics-hooks-" + std::to_string(getpid()));
    ASSERT_TRUE(systemk::testing::make_test_pki(dir));
    // list; a watch the server ends (closed); a watch that says 410 Gone (expired); the relist.
    ScriptedServer server(
        dir, {R"({"items":[],"metadata":{"resourceVersion":"10"}})", R"({"items":[],"metadata":{"resourceVersion":"30"}})"},
        {R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"15"}}})" "\n",
         R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})" "\n"});
    kube::Kubeconfig kc;
    kc.host = "127.0.0.1";
    kc.port = std::to_string(server.port());
    kc.server = "https://127.0.0.1:" + kc.port;
    std::ifstream ca(dir / "ca.crt");
    kc.ca_pem.assign(std::istreambuf_iterator<char>(ca), {});

    const std::string lists = R"(systemk_informer_lists_total{resource="widgets"})",
                      closed = R"(systemk_watch_restarts_total{resource="widgets",reason="closed"})",
                      expired = R"(systemk_watch_restarts_total{resource="widgets",reason="expired"})",
                      gets = R"(rest_client_requests_total{code="200",method="GET"})",
                      get_durations = R"(rest_client_request_duration_seconds_count{verb="GET"})";
    const double lists0 = metric(lists), closed0 = metric(closed), expired0 = metric(expired), gets0 = metric(gets),
                 durations0 = metric(get_durations);

    asio::io_context io;
    kube::ApiClient client(io.get_executor(), kc);
    kube::ObjectCache cache;
    auto informer = std::make_shared<kube::Informer>(client, "/api/v1/namespaces/ns/widgets", "", cache, "widgets");
    asio::co_spawn(io, informer->run(), asio::detached);
    for (int i = 0; i < 50 && server.targets().size() < 4; ++i) io.run_for(std::chrono::milliseconds(100));
    informer->stop();
    ASSERT_GE(server.targets().size(), 4u);
    EXPECT_GE(metric(lists), lists0 + 2);  // the first list and the relist
    EXPECT_GE(metric(closed), closed0 + 1);
    EXPECT_EQ(metric(expired), expired0 + 1);
    EXPECT_GE(metric(gets), gets0 + 4);  // two lists, two watches
    EXPECT_GE(metric(get_durations), durations0 + 2);  // the lists; watches have no duration
    fs::remove_all(dir);
}

TEST(MetricsHooks, WorkQueuePublishesRunningAndWaiting) {
    asio::io_context io;
    asio::steady_timer gate(io, std::chrono::steady_clock::time_point::max());
    int runs = 0;
    pods::WorkQueue q(
        io.get_executor(),
        [&](std::string) -> asio::awaitable<void> {
            ++runs;
            co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
        },
        1);
    q.add("a");
    q.add("b");  // over the limit: waits
    q.add("a");  // while a runs: runs again afterwards
    EXPECT_EQ(metric("systemk_pod_workers_running"), 1);
    EXPECT_EQ(metric("systemk_pod_queue_depth"), 2);
    // Each cancel lets the worker that waits now finish; the next one starts and waits.
    for (int i = 0; i < 20 && (runs < 3 || q.running() > 0); ++i) {
        gate.cancel();
        systemk::testing::pump(io, [] { return false; }, 2);
    }
    EXPECT_EQ(runs, 3);
    EXPECT_EQ(metric("systemk_pod_workers_running"), 0);
    EXPECT_EQ(metric("systemk_pod_queue_depth"), 0);
}
