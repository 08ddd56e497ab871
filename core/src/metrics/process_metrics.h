#pragma once
// The standard process_* metrics of Prometheus clients, read from /proc/self at scrape time.
#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/text_format.h"

namespace systemk::metrics {

// The fields of /proc/<pid>/stat the metrics need, in the kernel's units.
struct ProcStat {
    uint64_t utime_ticks = 0, stime_ticks = 0;  // user and system CPU time
    uint64_t start_ticks = 0;                   // start time after boot
    uint64_t vsize_bytes = 0;
    uint64_t rss_pages = 0;
};

// Parses the text of /proc/<pid>/stat (the command name may contain spaces and parentheses).
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The "btime" line of /proc/stat: the boot time in seconds since the epoch.
std::optional<uint64_t> parse_boot_time(std::string_view proc_stat);

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds. A value that cannot be read
// is left out (the family with it).
void write_process_metrics(TextWriter &out);

}  // namespace systemk::metrics
