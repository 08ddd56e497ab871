#include <gtest/gtest.h>

#include "engine_fakes.h"
#include "pods/event_recorder.h"

using namespace systemk;
using namespace systemk::testing;
namespace json = boost::json;

namespace {
const pods::EventObject kPod{"ns", "web", "uid-1"};
}

TEST(EventRecorder, TheSameEventAgainRaisesItsCount) {
    asio::io_context io;
    FakeApi api;
    pods::EventRecorder rec(io.get_executor(), api, "systemk", "node1");
    rec.record(kPod, "Warning", "BackOff", "Back-off restarting failed container c");
    pump(io, [&] { return rec.pending() == 0 && api.requests.size() == 1; });
    rec.record(kPod, "Warning", "BackOff", "Back-off restarting failed container c");
    pump(io, [&] { return api.requests.size() == 2; });
    rec.record(kPod, "Warning", "BackOff", "Back-off restarting failed container c");
    pump(io, [&] { return api.requests.size() == 3; });
    ASSERT_EQ(api.requests.size(), 3u);
    EXPECT_EQ(api.requests[0].verb, kube::http::verb::post);
    EXPECT_EQ(json::parse(api.requests[0].body).at("count").as_int64(), 1);
    EXPECT_EQ(api.requests[1].verb, kube::http::verb::patch);
    EXPECT_EQ(api.requests[1].target, "/api/v1/namespaces/ns/events/ev1");
    EXPECT_EQ(json::parse(api.requests[1].body).at("count").as_int64(), 2);
    EXPECT_EQ(json::parse(api.requests[2].body).at("count").as_int64(), 3);
}

TEST(EventRecorder, DifferentMessagesAreDifferentEvents) {
    asio::io_context io;
    FakeApi api;
    pods::EventRecorder rec(io.get_executor(), api, "systemk", "node1");
    rec.record(kPod, "Normal", "Killing", "Stopping container a");
    rec.record(kPod, "Normal", "Killing", "Stopping container b");
    pump(io, [&] { return api.requests.size() == 2; });
    EXPECT_EQ(api.matching(kube::http::verb::post, "/events").size(), 2u);
}

TEST(EventRecorder, BurstsBeyondTheLimitAreDroppedNotQueued) {
    asio::io_context io;
    FakeApi api;
    pods::EventRecorder::Limits limits;
    limits.burst = 3;
    pods::EventRecorder rec(io.get_executor(), api, "systemk", "node1", limits);
    for (int i = 0; i < 10; ++i) rec.record(kPod, "Normal", "R", "m" + std::to_string(i));  // returns at once
    EXPECT_EQ(rec.dropped(), 7u);
    pump(io, [&] { return api.requests.size() == 3; });
    EXPECT_EQ(api.requests.size(), 3u);
    // Another pod has its own bucket.
    rec.record({"ns", "other", "uid-2"}, "Normal", "R", "m");
    pump(io, [&] { return api.requests.size() == 4; });
    EXPECT_EQ(api.requests.size(), 4u);
}

TEST(EventRecorder, AnExpiredEventIsCreatedAgain) {
    asio::io_context io;
    FakeApi api;
    pods::EventRecorder rec(io.get_executor(), api, "systemk", "node1");
    rec.record(kPod, "Warning", "BackOff", "m");
    pump(io, [&] { return api.requests.size() == 1; });
    api.answer = [](const RecordedRequest &r) {
        kube::ApiResponse res;
        res.status = r.verb == kube::http::verb::patch ? 404 : 201;
        res.body = R"({"metadata":{"name":"ev9"}})";
        return res;
    };
    rec.record(kPod, "Warning", "BackOff", "m");
    pump(io, [&] { return api.requests.size() == 3; });
    ASSERT_EQ(api.requests.size(), 3u);
    EXPECT_EQ(api.requests[1].verb, kube::http::verb::patch);
    EXPECT_EQ(api.requests[2].verb, kube::http::verb::post);
    EXPECT_EQ(json::parse(api.requests[2].body).at("count").as_int64(), 2);
}
