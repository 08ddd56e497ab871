#include "metrics/text_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace systemk::metrics;

TEST(MetricsTextFormat, EscapesLabelValuesAndHelp) {
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(escape_help("x \"y\"\\\nz"), "x \"y\"\\\\\\nz");
}

TEST(MetricsTextFormat, FormatsValues) {
    EXPECT_EQ(format_value(0), "0");
    EXPECT_EQ(format_value(42), "42");
    EXPECT_EQ(format_value(1e15), "1000000000000000");
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_value(0.1), "0.1");  // shortest form that reads back exactly
    EXPECT_EQ(format_value(0.0056301880000000004), "0.005630188");
}

TEST(MetricsTextFormat, WritesFamiliesAndSamples) {
    TextWriter w;
    w.family("x_total", "counter", "Things.\nCounted.");
    w.sample("x_total", {{"pod", "a\"b"}, {"ns", "n"}}, 3);
    w.sample("x_total", {}, 1.5, 1700000000000);
    EXPECT_EQ(w.text(),
              "# HELP x_total Things.\\nCounted.\n"
              "# TYPE x_total counter\n"
              "x_total{pod=\"a\\\"b\",ns=\"n\"} 3\n"
              "x_total 1.5 1700000000000\n");
}
