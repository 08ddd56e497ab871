#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

using namespace systemk::metrics;

TEST(MetricsRegistry, WritesCountersAndGaugesWithHelpAndType) {
    Registry r;
    auto &requests = r.counter("api_requests_total", "Requests.", {"code", "method"});
    requests.with({"200", "GET"}).inc();
    requests.with({"200", "GET"}).inc(2);
    requests.with({"404", "GET"}).inc();
    r.gauge("queue_depth", "Waiting.").with({}).set(4);
    EXPECT_EQ(r.text(),
              "# HELP api_requests_total Requests.\n"
              "# TYPE api_requests_total counter\n"
              "api_requests_total{code=\"200\",method=\"GET\"} 3\n"
              "api_requests_total{code=\"404\",method=\"GET\"} 1\n"
              "# HELP queue_depth Waiting.\n"
              "# TYPE queue_depth gauge\n"
              "queue_depth 4\n");
}

TEST(MetricsRegistry, UnlabelledFamiliesStartAtZeroAndLabelledOnesAppearOnFirstUse) {
    Registry r;
    r.counter("starts_total", "Starts.");
    auto &by_code = r.counter("codes_total", "Codes.", {"code"});
    EXPECT_EQ(r.text(), "# HELP starts_total Starts.\n# TYPE starts_total counter\nstarts_total 0\n");
    by_code.with({"500"});
    EXPECT_NE(r.text().find("codes_total{code=\"500\"} 0\n"), std::string::npos);
}

TEST(MetricsRegistry, ChildReferencesStayValidAndAreFoundAgain) {
    Registry r;
    auto &f = r.counter("x_total", "X.", {"a"});
    auto &first = f.with({"one"});
    for (int i = 0; i < 100; ++i) f.with({std::to_string(i)});
    EXPECT_EQ(&first, &f.with({"one"}));
    const std::vector<std::string_view> values{"one"};
    EXPECT_EQ(&first, &f.with(values));
}

TEST(MetricsRegistry, GaugeGoesUpAndDown) {
    Gauge g;
    g.inc(3);
    g.dec();
    EXPECT_EQ(g.value(), 2);
    g.set(-1.5);
    EXPECT_EQ(g.value(), -1.5);
}

TEST(MetricsRegistry, CounterIgnoresNegativeAndNaN) {
    Counter c;
    c.inc(2);
    c.inc(-1);
    c.inc(std::nan(""));
    EXPECT_EQ(c.value(), 2);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
    Registry r;
    auto &h = r.histogram("op_duration_seconds", "Durations.", {"op"}, {0.25, 1, 2.5});
    auto &start = h.with({"start"});
    start.observe(0.125);
    start.observe(0.25);  // le: a value on a bound counts in that bucket
    start.observe(0.75);
    start.observe(30);
    EXPECT_EQ(r.text(),
              "# HELP op_duration_seconds Durations.\n"
              "# TYPE op_duration_seconds histogram\n"
              "op_duration_seconds_bucket{op=\"start\",le=\"0.25\"} 2\n"
              "op_duration_seconds_bucket{op=\"start\",le=\"1\"} 3\n"
              "op_duration_seconds_bucket{op=\"start\",le=\"2.5\"} 3\n"
              "op_duration_seconds_bucket{op=\"start\",le=\"+Inf\"} 4\n"
              "op_duration_seconds_sum{op=\"start\"} 31.125\n"
              "op_duration_seconds_count{op=\"start\"} 4\n");
}

TEST(MetricsRegistry, HistogramObservesDurations) {
    Histogram h({0.5, 2});
    h.observe(std::chrono::milliseconds(1500));
    const auto s = h.snapshot();
    EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 1, 1}));
    EXPECT_EQ(s.count, 1u);
    EXPECT_DOUBLE_EQ(s.sum, 1.5);
}

TEST(MetricsRegistry, HistogramPutsNaNInTheInfBucketOnly) {
    Histogram h({1});
    h.observe(std::nan(""));
    EXPECT_EQ(h.snapshot().cumulative, (std::vector<uint64_t>{0, 1}));
}

TEST(MetricsRegistry, FormatsBoundsShortest) {
    EXPECT_EQ(format_bound(0.005), "0.005");
    EXPECT_EQ(format_bound(0.0025), "0.0025");
    EXPECT_EQ(format_bound(1), "1");
    EXPECT_EQ(format_bound(300), "300");
    EXPECT_EQ(format_bound(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(MetricsRegistry, EscapesLabelValues) {
    Registry r;
    r.counter("x_total", "X.", {"plugin"}).with({"a\"b\\c\nd"}).inc();
    EXPECT_NE(r.text().find("x_total{plugin=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, RefusesBadDefinitions) {
    Registry r;
    EXPECT_THROW(r.counter("requests", "No _total."), std::invalid_argument);
    EXPECT_THROW(r.gauge("1abc", "Bad name."), std::invalid_argument);
    EXPECT_THROW(r.gauge("a-b", "Bad name."), std::invalid_argument);
    EXPECT_THROW(r.gauge("ok", "Bad label.", {"bad-label"}), std::invalid_argument);
    EXPECT_THROW(r.gauge("ok2", "Reserved label.", {"__name"}), std::invalid_argument);
    EXPECT_THROW(r.histogram("h_seconds", "le is taken.", {"le"}, {1}), std::invalid_argument);
    EXPECT_THROW(r.histogram("h2_seconds", "No buckets.", {}, {}), std::invalid_argument);
    EXPECT_THROW(r.histogram("h3_seconds", "Not increasing.", {}, {1, 1}), std::invalid_argument);
    EXPECT_THROW(r.histogram("h4_seconds", "Not finite.", {}, {1, std::numeric_limits<double>::infinity()}),
                 std::invalid_argument);
    r.gauge("once", "Once.");
    EXPECT_THROW(r.gauge("once", "Twice."), std::invalid_argument);
    EXPECT_THROW(r.counter("once", "As another type."), std::invalid_argument);
}

TEST(MetricsRegistry, RefusesWrongNumberOfLabelValues) {
    Registry r;
    auto &f = r.counter("x_total", "X.", {"a", "b"});
    EXPECT_THROW(f.with({"only one"}), std::invalid_argument);
    EXPECT_THROW(f.with({"1", "2", "3"}), std::invalid_argument);
}

TEST(MetricsRegistry, ValidatesNames) {
    EXPECT_TRUE(valid_metric_name("a:b_c9"));
    EXPECT_TRUE(valid_metric_name("_x"));
    EXPECT_FALSE(valid_metric_name(""));
    EXPECT_FALSE(valid_metric_name("9a"));
    EXPECT_TRUE(valid_label_name("container_state"));
    EXPECT_FALSE(valid_label_name("a:b"));
    EXPECT_FALSE(valid_label_name("__reserved"));
}

// The kubelet API's thread writes the text while other threads update and add children: every
// increment is counted, and each written histogram is self-consistent.
TEST(MetricsRegistry, ConcurrentUpdatesAreAllCountedWhileBeingRead) {
    Registry r;
    auto &counter = r.counter("ops_total", "Ops.", {"thread", "shared"});
    auto &gauge = r.gauge("level", "Level.").with({});
    auto &histogram = r.histogram("op_seconds", "Op durations.", {"kind"}, {0.5, 1});
    constexpr int kThreads = 4, kRounds = 20000;
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) {
            const auto text = r.text();
            // count equals the +Inf bucket in every snapshot
            const auto inf = text.find("op_seconds_bucket{kind=\"same\",le=\"+Inf\"} ");
            const auto count = text.find("op_seconds_count{kind=\"same\"} ");
            if (inf == std::string::npos || count == std::string::npos) continue;
            const auto value_at = [&](size_t at) {
                const auto start = text.find("} ", at) + 2;
                return text.substr(start, text.find('\n', start) - start);
            };
            ASSERT_EQ(value_at(inf), value_at(count));
        }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t)
        writers.emplace_back([&, t] {
            const auto mine = std::to_string(t);
            for (int i = 0; i < kRounds; ++i) {
                counter.with({"all", "yes"}).inc();
                counter.with({mine, "no"}).inc();
                gauge.inc();
                histogram.with({"same"}).observe(i % 2 ? 0.25 : 0.75);
                if (i % 1000 == 0) counter.with({mine, std::to_string(i)});  // new children meanwhile
            }
            for (int i = 0; i < kRounds; ++i) gauge.dec();
        });
    for (auto &w : writers) w.join();
    done = true;
    reader.join();
    EXPECT_EQ(counter.with({"all", "yes"}).value(), kThreads * kRounds);
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(counter.with({std::to_string(t), "no"}).value(), kRounds);
    EXPECT_EQ(gauge.value(), 0);
    const auto s = histogram.with({"same"}).snapshot();
    EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kRounds));
    EXPECT_EQ(s.cumulative[0], static_cast<uint64_t>(kThreads * kRounds / 2));
    EXPECT_DOUBLE_EQ(s.sum, kThreads * kRounds / 2 * (0.25 + 0.75));
}
