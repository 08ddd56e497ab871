// The stats readers on fake cgroup and proc trees, the CPU rate window, and the summary and
// resource metrics built from one snapshot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>

#include "stats/cgroup_usage.h"
#include "stats/cpu_rate.h"
#include "stats/host_usage.h"
#include "stats/stats_collector.h"
#include "stats/summary.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace systemk::stats;
using namespace std::chrono_literals;

namespace {

class StatsFakeTree : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("systemk-stats-" + std::to_string(getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const fs::path &relative, const std::string &text) {
        fs::create_directories((dir_ / relative).parent_path());
        std::ofstream(dir_ / relative) << text;
    }
    // A process in the fake proc tree: statm pages and stat fields.
    void process(long pid, uint64_t resident_pages, uint64_t shared_pages, uint64_t utime, uint64_t stime, int threads) {
        write("proc/" + std::to_string(pid) + "/statm", "100 " + std::to_string(resident_pages) + " " + std::to_string(shared_pages) + " 1 0 5 0\n");
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads
        write("proc/" + std::to_string(pid) + "/stat", std::to_string(pid) + " (a (b) c) S 1 1 1 0 -1 0 7 0 2 0 " + std::to_string(utime) +
                                                          " " + std::to_string(stime) + " 0 0 20 0 " + std::to_string(threads) + " 0 0\n");
    }
    fs::path dir_;
};

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
const uint64_t kTick = 1000000000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));

}  // namespace

TEST(KeyedValue, FindsWholeKeysOnly) {
    const std::string text = "usage_usec 15\nuser_usec 10\nanon 3\nanon_thp 9\n";
    EXPECT_EQ(keyed_value(text, "usage_usec"), 15u);
    EXPECT_EQ(keyed_value(text, "anon"), 3u);
    EXPECT_EQ(keyed_value(text, "anon_thp"), 9u);
    EXPECT_FALSE(keyed_value(text, "usage"));
    EXPECT_FALSE(keyed_value(text, "missing"));
}

TEST_F(StatsFakeTree, UnifiedCgroupReadsWhatSystemdReads) {
    write("cg/cgroup.controllers", "cpu memory pids\n");
    const std::string unit = "cg/system.slice/systemk.ns.p.c.service/";
    write(unit + "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
    write(unit + "memory.current", "10485760\n");
    write(unit + "memory.stat", "anon 4096000\nfile 6000000\ninactive_file 2097152\npgfault 77\npgmajfault 3\n");
    write(unit + "pids.current", "4\n");
    write(unit + "cgroup.procs", "10\n11\n");
    CgroupReader reader(dir_ / "cg", dir_ / "proc");
    const auto u = reader.read("/system.slice/systemk.ns.p.c.service");
    ASSERT_TRUE(u.exists);
    EXPECT_EQ(u.cpu_ns, 2500000000u);
    EXPECT_EQ(u.memory_bytes, 10485760u);
    EXPECT_EQ(u.working_set_bytes, 10485760u - 2097152u);
    EXPECT_EQ(u.rss_bytes, 4096000u);
    EXPECT_EQ(u.page_faults, 77u);
    EXPECT_EQ(u.major_page_faults, 3u);
    EXPECT_EQ(u.tasks, 4u);
    EXPECT_EQ(u.processes, 2u);
    EXPECT_FALSE(reader.read("/system.slice/other.service").exists);
    EXPECT_FALSE(reader.read("/system.slice/../../etc").exists);
}

TEST_F(StatsFakeTree, LegacyCgroupUsesTheV1Controllers) {
    const std::string rel = "system.slice/u.service/";
    write("cg/systemd/" + rel + "cgroup.procs", "10\n");
    write("cg/cpuacct/" + rel + "cpuacct.usage", "123456789\n");
    write("cg/memory/" + rel + "memory.usage_in_bytes", "8192000\n");
    write("cg/memory/" + rel + "memory.stat", "cache 100\nrss 5\ntotal_rss 4096000\ntotal_inactive_file 1000\ntotal_pgfault 5\ntotal_pgmajfault 1\n");
    write("cg/pids/" + rel + "pids.current", "2\n");
    process(10, 50, 10, 1, 1, 2);
    CgroupReader reader(dir_ / "cg", dir_ / "proc");
    const auto u = reader.read("/system.slice/u.service");
    ASSERT_TRUE(u.exists);
    EXPECT_EQ(u.cpu_ns, 123456789u);
    EXPECT_EQ(u.memory_bytes, 8192000u);
    EXPECT_EQ(u.working_set_bytes, 8191000u);
    EXPECT_EQ(u.rss_bytes, 4096000u);
    EXPECT_EQ(u.page_faults, 5u);
    EXPECT_EQ(u.tasks, 2u);
    EXPECT_EQ(u.processes, 1u);
}

// A container whose v1 controllers are read-only (systemd says "[not set]"): CPU from the
// unified tree, memory and tasks from the processes themselves.
TEST_F(StatsFakeTree, HybridWithoutDelegationFallsBackToUnifiedAndProcesses) {
    const std::string rel = "system.slice/u.service/";
    write("cg/systemd/" + rel + "cgroup.procs", "10\n");
    write("cg/systemd/" + rel + "child/cgroup.procs", "11\n");
    write("cg/unified/" + rel + "cpu.stat", "usage_usec 42\n");
    process(10, 100, 40, 3, 4, 1);
    process(11, 10, 0, 1, 1, 3);
    CgroupReader reader(dir_ / "cg", dir_ / "proc");
    const auto u = reader.read("/system.slice/u.service");
    ASSERT_TRUE(u.exists);
    EXPECT_EQ(u.cpu_ns, 42000u);
    EXPECT_EQ(u.memory_bytes, 110 * kPage);
    EXPECT_EQ(u.working_set_bytes, 110 * kPage);
    EXPECT_EQ(u.rss_bytes, 70 * kPage);
    EXPECT_EQ(u.page_faults, 14u);
    EXPECT_EQ(u.major_page_faults, 4u);
    EXPECT_EQ(u.tasks, 4u);
    EXPECT_EQ(u.processes, 2u);
}

TEST_F(StatsFakeTree, CpuFromProcessesWhenNoCgroupCountsIt) {
    write("cg/systemd/system.slice/u.service/cgroup.procs", "10\n");
    process(10, 1, 0, 30, 20, 1);
    const auto u = CgroupReader(dir_ / "cg", dir_ / "proc").read("/system.slice/u.service");
    EXPECT_EQ(u.cpu_ns, 50 * kTick);
}

TEST_F(StatsFakeTree, HostFigures) {
    write("proc/stat", "cpu  100 5 50 1000 7 1 2 3 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\nbtime 1700000000\n");
    write("proc/meminfo", "MemTotal:       1000 kB\nMemFree:         200 kB\nMemAvailable:    600 kB\nInactive(file):  300 kB\nAnonPages:       250 kB\n");
    write("proc/vmstat", "pgfault 99\npgmajfault 9\n");
    write("proc/net/dev", "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n"
                          "    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n  eth0: 1000 10 2 0 0 0 0 0 2000 20 3 0 0 0 0 0\n"
                          "  wlan0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n");
    write("proc/net/route", "Iface\tDestination\tGateway\n wlan0\t0000A8C0\t00000000\neth0\t00000000\t0100A8C0\n");
    write("proc/sys/kernel/pid_max", "4194304\n");
    write("proc/loadavg", "0.10 0.20 0.30 2/345 999\n");
    const auto proc = dir_ / "proc";
    EXPECT_EQ(read_host_cpu(proc)->usage_ns, (100 + 5 + 50 + 1 + 2 + 3) * kTick);
    EXPECT_EQ(read_boot_time(proc), 1700000000);
    const auto m = read_host_memory(proc);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->total_bytes, 1024000u);
    EXPECT_EQ(m->usage_bytes, 800u * 1024);
    EXPECT_EQ(m->working_set_bytes, 500u * 1024);
    EXPECT_EQ(m->available_bytes, 500u * 1024);
    EXPECT_EQ(m->rss_bytes, 250u * 1024);
    EXPECT_EQ(m->page_faults, 99u);
    const auto net = read_host_network(proc);
    ASSERT_EQ(net.interfaces.size(), 2u);
    EXPECT_EQ(net.default_interface, "eth0");
    EXPECT_EQ(net.interfaces[0].rx_bytes, 1000u);
    EXPECT_EQ(net.interfaces[0].rx_errors, 2u);
    EXPECT_EQ(net.interfaces[0].tx_bytes, 2000u);
    EXPECT_EQ(net.interfaces[0].tx_errors, 3u);
    const auto limits = read_process_limits(proc);
    EXPECT_EQ(limits->max_pid, 4194304u);
    EXPECT_EQ(limits->processes, 345u);
    EXPECT_FALSE(read_host_cpu(dir_ / "missing"));
}

TEST_F(StatsFakeTree, DirectoryUsageCountsBlocksAndInodesWithoutFollowingLinks) {
    write("vol/a", std::string(10000, 'x'));
    write("vol/sub/b", "y");
    fs::create_directory_symlink("/usr", dir_ / "vol/link");
    const auto u = directory_usage(dir_ / "vol");
    EXPECT_EQ(u.inodes, 5u);  // vol, a, sub, b, link
    EXPECT_GE(u.bytes, 10000u);
    EXPECT_LT(u.bytes, 1000000u);  // /usr was not walked
}

TEST(CpuRateTracker, RateNeedsAWindow) {
    CpuRateTracker rates(1s);
    const auto t0 = CpuRateTracker::Clock::time_point{} + 100s;
    EXPECT_FALSE(rates.observe("c", t0, 1000));
    EXPECT_FALSE(rates.observe("c", t0 + 500ms, 2000));  // too close: no rate yet
    EXPECT_EQ(rates.observe("c", t0 + 2s, 1000 + 400000000), 200000000u);  // 0.2 cores
    EXPECT_EQ(rates.observe("c", t0 + 2500ms, 1000 + 900000000), 200000000u);  // keeps the last rate
    EXPECT_EQ(rates.observe("c", t0 + 4s, 1000 + 2400000000), 1000000000u);
    EXPECT_FALSE(rates.observe("c", t0 + 5s, 10));  // went back: a new cgroup
    rates.observe("d", t0, 1);
    rates.retain({"d"});
    EXPECT_EQ(rates.size(), 1u);
}

namespace {
Snapshot sample_snapshot() {
    Snapshot s;
    s.time_ms = 1700000000123;
    s.node.name = "node1";
    s.node.start_time = 1600000000;
    s.node.cpu = HostCpu{5000000000};
    s.node.usage_nano_cores = 250000000;
    s.node.memory = HostMemory{1000, 800, 500, 500, 250, 9, 1};
    s.node.network.default_interface = "eth0";
    s.node.network.interfaces = {{"eth0", 1, 2, 3, 4}};
    s.node.root_fs = FsStats{100, 40, 60, 10, 4, 6};
    PodSample p{"web", "prod", "uid-1", 1699999000, {}, {}, {}, {}};
    ContainerSample a{"a", 1699999001, {}, 100000000, 4096};
    a.usage.exists = true;
    a.usage.cpu_ns = 1500000000;
    a.usage.memory_bytes = 3000;
    a.usage.working_set_bytes = 2000;
    a.usage.processes = 1;
    ContainerSample b{"b\"q", 1699999002, {}, 50000000, std::nullopt};
    b.usage.exists = true;
    b.usage.cpu_ns = 500000000;
    b.usage.memory_bytes = 1000;
    b.usage.working_set_bytes = 1000;
    b.usage.processes = 2;
    p.containers = {a, b};
    p.volumes = {VolumeSample{"data", FsStats{100, 40, 60, 10, 4, 6}, DirectoryUsage{8192, 3}}};
    p.ephemeral_volumes = {"data"};
    s.pods = {p};
    return s;
}
}  // namespace

TEST(StatsSummary, NodeAndPodsAsStatsV1alpha1) {
    const auto j = summary_json(sample_snapshot());
    const auto &node = j.at("node").as_object();
    EXPECT_EQ(node.at("nodeName"), "node1");
    EXPECT_EQ(node.at("startTime"), "2020-09-13T12:26:40Z");
    EXPECT_EQ(node.at("cpu").at("time"), "2023-11-14T22:13:20Z");
    EXPECT_EQ(node.at("cpu").at("usageNanoCores"), 250000000u);
    EXPECT_EQ(node.at("cpu").at("usageCoreNanoSeconds"), 5000000000u);
    EXPECT_EQ(node.at("memory").at("workingSetBytes"), 500u);
    EXPECT_EQ(node.at("network").at("name"), "eth0");
    EXPECT_EQ(node.at("network").at("rxBytes"), 1u);
    EXPECT_EQ(node.at("network").at("interfaces").as_array().size(), 1u);
    EXPECT_EQ(node.at("fs").at("capacityBytes"), 100u);
    const auto &pod = j.at("pods").as_array().at(0).as_object();
    EXPECT_EQ(pod.at("podRef").at("uid"), "uid-1");
    const auto &containers = pod.at("containers").as_array();
    ASSERT_EQ(containers.size(), 2u);
    EXPECT_EQ(containers[0].at("memory").at("availableBytes"), 2096u);  // limit less working set
    EXPECT_FALSE(containers[1].at("memory").as_object().contains("availableBytes"));  // no limit
    // The pod's figures are its containers' sums.
    EXPECT_EQ(pod.at("cpu").at("usageCoreNanoSeconds"), 2000000000u);
    EXPECT_EQ(pod.at("cpu").at("usageNanoCores"), 150000000u);
    EXPECT_EQ(pod.at("memory").at("workingSetBytes"), 3000u);
    EXPECT_FALSE(pod.at("memory").as_object().contains("availableBytes"));  // one container unlimited
    EXPECT_EQ(pod.at("process_stats").at("process_count"), 3u);
    EXPECT_EQ(pod.at("volume").at(0).at("usedBytes"), 8192u);
    EXPECT_EQ(pod.at("volume").at(0).at("inodesUsed"), 3u);
    EXPECT_EQ(pod.at("ephemeral-storage").at("usedBytes"), 8192u);
}

TEST(StatsSummary, ResourceMetricsMatchTheSummary) {
    const auto text = resource_metrics_text(sample_snapshot());
    EXPECT_NE(text.find("# TYPE container_cpu_usage_seconds_total counter\n"
                        "container_cpu_usage_seconds_total{container=\"a\",namespace=\"prod\",pod=\"web\"} 1.5 1700000000123\n"
                        "container_cpu_usage_seconds_total{container=\"b\\\"q\",namespace=\"prod\",pod=\"web\"} 0.5 1700000000123\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("node_cpu_usage_seconds_total 5 1700000000123\n"), std::string::npos);
    EXPECT_NE(text.find("node_memory_working_set_bytes 500 1700000000123\n"), std::string::npos);
    EXPECT_NE(text.find("pod_cpu_usage_seconds_total{namespace=\"prod\",pod=\"web\"} 2 1700000000123\n"), std::string::npos);
    EXPECT_NE(text.find("pod_memory_working_set_bytes{namespace=\"prod\",pod=\"web\"} 3000 1700000000123\n"), std::string::npos);
    EXPECT_NE(text.find("container_start_time_seconds{container=\"a\",namespace=\"prod\",pod=\"web\"} 1699999001"), std::string::npos);
    EXPECT_NE(text.find("scrape_error 0\n"), std::string::npos);
}

// The collector on fake trees: only running containers of live pods, volumes found in either
// pod directory, and the first summary waits for a CPU window.
TEST_F(StatsFakeTree, CollectorReadsThePodsUnits) {
    write("cg/cgroup.controllers", "cpu\n");
    write("cg/system.slice/systemk.prod.web.main.service/cpu.stat", "usage_usec 1000\n");
    write("cg/system.slice/systemk.prod.web.main.service/memory.current", "4096\n");
    write("cg/system.slice/systemk.prod.web.main.service/pids.current", "1\n");
    write("cg/system.slice/systemk.prod.web.main.service/cgroup.procs", "10\n");
    systemk::pods::NodeContext node;
    node.node_name = "node1";
    node.state_dir = (dir_ / "state").string();
    node.runtime_dir = (dir_ / "run").string();
    const std::string uid = "0b4cc1f5-1c22-4ad2-9b7e-6b1b3ba4d4c1";
    write("run/pods/" + uid + "/volumes/token/t", "x");
    write("state/pods/" + uid + "/volumes/data/f", "y");
    auto pod = json::parse(R"({"metadata":{"name":"web","namespace":"prod","uid":")" + uid + R"("},
        "spec":{"containers":[{"name":"main","resources":{"limits":{"memory":"1Mi"}}},{"name":"side"}],
                "volumes":[{"name":"data","emptyDir":{}},{"name":"token","projected":{"sources":[]}},{"name":"host","hostPath":{"path":"/"}}]},
        "status":{"phase":"Running","startTime":"2024-01-02T03:04:05Z",
                  "containerStatuses":[{"name":"main","state":{"running":{"startedAt":"2024-01-02T03:04:06Z"}}}]}})").as_object();
    auto done = json::parse(R"({"metadata":{"name":"old","namespace":"prod","uid":"u2"},"spec":{"containers":[{"name":"main"}]},
        "status":{"phase":"Succeeded"}})").as_object();
    StatsCollector collector(node, [&] { return std::vector<json::object>{pod, done}; }, CgroupReader(dir_ / "cg", dir_ / "proc"));
    boost::asio::io_context io;
    std::string summary;
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { summary = co_await collector.summary(); }, boost::asio::detached);
    io.run();
    const auto j = json::parse(summary);
    const auto &pods = j.at("pods").as_array();
    ASSERT_EQ(pods.size(), 1u);
    const auto &p = pods[0];
    EXPECT_EQ(p.at("startTime"), "2024-01-02T03:04:05Z");
    ASSERT_EQ(p.at("containers").as_array().size(), 1u);  // "side" has no cgroup: not running
    const auto &c = p.at("containers").at(0);
    EXPECT_EQ(c.at("startTime"), "2024-01-02T03:04:06Z");
    EXPECT_EQ(c.at("cpu").at("usageCoreNanoSeconds"), 1000000u);
    EXPECT_EQ(c.at("cpu").at("usageNanoCores"), 0u);  // a window of a second with no CPU used
    EXPECT_EQ(c.at("memory").at("availableBytes"), 1048576u - 4096u);
    std::set<std::string> volumes;
    for (const auto &v : p.at("volume").as_array()) volumes.insert(std::string(v.at("name").as_string()));
    EXPECT_EQ(volumes, (std::set<std::string>{"data", "token"}));
    // Ephemeral storage is the disk-backed volumes only (the projected token is in memory).
    for (const auto &v : p.at("volume").as_array())
        if (v.at("name") == "data") {
            EXPECT_EQ(p.at("ephemeral-storage").at("usedBytes"), v.at("usedBytes"));
        }
    const auto metrics = [&] {
        std::string text;
        boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { text = co_await collector.resource_metrics(); },
                              boost::asio::detached);
        io.restart();
        io.run();
        return text;
    }();
    EXPECT_NE(metrics.find("container_cpu_usage_seconds_total{container=\"main\",namespace=\"prod\",pod=\"web\"} 0.001 "),
              std::string::npos)
        << metrics;
}
