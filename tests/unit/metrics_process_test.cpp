#include "metrics/process_metrics.h"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace systemk::metrics;

TEST(MetricsProcess, ParsesProcStatWithAnOddCommandName) {
    // Fields 1-24 of a real line; the command name holds spaces and a ')'.
    const auto stat = parse_proc_stat(
        "1234 (a b) c) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 8 0 987654 123456789 4096 "
        "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->utime_ticks, 250u);
    EXPECT_EQ(stat->stime_ticks, 75u);
    EXPECT_EQ(stat->start_ticks, 987654u);
    EXPECT_EQ(stat->vsize_bytes, 123456789u);
    EXPECT_EQ(stat->rss_pages, 4096u);
}

TEST(MetricsProcess, RefusesTruncatedOrGarbledStat) {
    EXPECT_FALSE(parse_proc_stat(""));
    EXPECT_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
    EXPECT_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 75 0 0 20 0 8 0 9 1 1"));
}

TEST(MetricsProcess, FindsTheBootTime) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000u);
    EXPECT_FALSE(parse_boot_time("cpu 1\n"));
}

TEST(MetricsProcess, WritesThisProcess) {
    TextWriter out;
    write_process_metrics(out);
    const auto &text = out.text();
    for (const char *family : {"process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
                               "process_virtual_memory_bytes gauge", "process_start_time_seconds gauge",
                               "process_open_fds gauge"})
        EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
    // This process has at least stdin, stdout and stderr open, and a resident size above zero.
    const auto value_of = [&](const std::string &name) {
        const auto at = text.find("\n" + name + " ");
        EXPECT_NE(at, std::string::npos) << name;
        return std::stod(text.substr(at + name.size() + 2));
    };
    EXPECT_GE(value_of("process_open_fds"), 3);
    EXPECT_GT(value_of("process_resident_memory_bytes"), 0);
    const auto start = value_of("process_start_time_seconds");
    EXPECT_GT(start, 1.6e9);
    EXPECT_LE(start, static_cast<double>(::time(nullptr)) + 1);
}
