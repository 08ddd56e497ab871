#pragma once
// The node's own figures for the stats summary: CPU and memory of the whole machine (what the
// kubelet reads from the root cgroup), the host network (pods share it), file systems and
// process limits. Every reader takes the proc root so tests can give it a fake one.
#include <sys/statvfs.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace systemk::stats {

struct HostCpu {
    uint64_t usage_ns = 0;  // every CPU's non-idle time since boot
};
std::optional<HostCpu> read_host_cpu(const std::filesystem::path &proc = "/proc");
// Seconds since the epoch when the machine booted (the node's startTime).
std::optional<int64_t> read_boot_time(const std::filesystem::path &proc = "/proc");

struct HostMemory {
    uint64_t total_bytes = 0;
    uint64_t usage_bytes = 0;        // total less free
    uint64_t working_set_bytes = 0;  // usage less inactive file pages
    uint64_t available_bytes = 0;    // total less working set, as the kubelet reports it
    uint64_t rss_bytes = 0;          // anonymous pages
    uint64_t page_faults = 0;
    uint64_t major_page_faults = 0;
};
std::optional<HostMemory> read_host_memory(const std::filesystem::path &proc = "/proc");

struct InterfaceStats {
    std::string name;
    uint64_t rx_bytes = 0, rx_errors = 0, tx_bytes = 0, tx_errors = 0;
};
struct HostNetwork {
    std::string default_interface;  // the one with the default route, else the first
    std::vector<InterfaceStats> interfaces;  // loopback left out
};
HostNetwork read_host_network(const std::filesystem::path &proc = "/proc");

struct FsStats {
    uint64_t capacity_bytes = 0, available_bytes = 0, used_bytes = 0;
    uint64_t inodes = 0, inodes_free = 0, inodes_used = 0;
};
// The file system holding `path`.
std::optional<FsStats> file_system_stats(const std::filesystem::path &path);
// What lies below `dir` (not following symbolic links, not leaving its file system): bytes of
// allocated blocks and the number of inodes.
struct DirectoryUsage {
    uint64_t bytes = 0;
    uint64_t inodes = 0;
};
DirectoryUsage directory_usage(const std::filesystem::path &dir);

struct ProcessLimits {
    uint64_t max_pid = 0;
    uint64_t processes = 0;
};
std::optional<ProcessLimits> read_process_limits(const std::filesystem::path &proc = "/proc");

}  // namespace systemk::stats
