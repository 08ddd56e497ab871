#pragma once
// What a unit's cgroup has used, read from the cgroup file system the way systemd reads it for
// CPUUsageNSec= and MemoryCurrent=: cgroup v2 (cpu.stat, memory.current, memory.stat,
// pids.current), cgroup v1 (cpuacct, memory, pids hierarchies), and the hybrid layout, where
// the v2 tree under unified/ still counts CPU when the v1 controllers are not delegated (a
// container whose /sys/fs/cgroup is read-only). Memory nobody accounts for is summed from the
// cgroup's processes instead, so a node without memory accounting still reports something true.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace systemk::stats {

struct CgroupUsage {
    bool exists = false;  // the cgroup is there (the unit runs or has processes)
    std::optional<uint64_t> cpu_ns;  // cumulative CPU time
    std::optional<uint64_t> memory_bytes;       // usage, page cache included
    std::optional<uint64_t> working_set_bytes;  // usage less inactive file pages
    std::optional<uint64_t> rss_bytes;          // anonymous memory
    std::optional<uint64_t> page_faults;
    std::optional<uint64_t> major_page_faults;
    std::optional<uint64_t> tasks;      // threads
    std::optional<uint64_t> processes;  // processes
};

class CgroupReader {
public:
    // `cgroup_root`: where cgroup file systems are mounted; `proc`: the proc file system.
    explicit CgroupReader(std::filesystem::path cgroup_root = "/sys/fs/cgroup", std::filesystem::path proc = "/proc");

    // `cgroup`: the path systemd gives as ControlGroup=, e.g. /system.slice/x.service.
    CgroupUsage read(const std::string &cgroup) const;

    // The cgroup of a unit that sets no Slice=.
    static std::string unit_cgroup(const std::string &unit) { return "/system.slice/" + unit; }

private:
    CgroupUsage read_unified(const std::filesystem::path &dir) const;
    CgroupUsage read_legacy(const std::string &cgroup) const;
    // Memory, tasks and (when `with_cpu`) CPU summed over the processes below `dir`.
    void add_process_usage(const std::filesystem::path &dir, CgroupUsage &usage, bool with_cpu) const;
    // What no cgroup file gave (CPU, memory, tasks) taken from the processes below `dir`.
    void fill_from_processes(const std::filesystem::path &dir, CgroupUsage &usage) const;

    std::filesystem::path root_;
    std::filesystem::path proc_;
    bool unified_;
};

// "key value" lines (cpu.stat, memory.stat): the value of `key`, if there.
std::optional<uint64_t> keyed_value(const std::string &text, const std::string &key);

}  // namespace systemk::stats
