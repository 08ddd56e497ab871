#include "metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "util/read_file.h"

namespace systemk::metrics {
namespace {


std::optional<uint64_t> number(std::string_view word) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
    // "pid (comm) state ppid ...": comm is whatever the process named itself; the fields after
    // the last ')' are fixed. Field 3 (state) is the first after it.
    const auto close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    std::vector<std::string_view> fields;  // fields[0] is field 3
    for (size_t at = close + 1; at < text.size();) {
        while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
        const auto end = text.find_first_of(" \n", at);
        if (at < text.size()) fields.push_back(text.substr(at, end == std::string_view::npos ? end : end - at));
        at = end == std::string_view::npos ? text.size() : end;
    }
    auto field = [&](size_t n) { return n - 3 < fields.size() ? number(fields[n - 3]) : std::nullopt; };
    const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
    if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
    return ProcStat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<uint64_t> parse_boot_time(std::string_view proc_stat) {
    for (size_t at = 0; at < proc_stat.size();) {
        const auto end = proc_stat.find('\n', at);
        const auto line = proc_stat.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        if (line.starts_with("btime ")) return number(line.substr(6));
        if (end == std::string_view::npos) break;
        at = end + 1;
    }
    return std::nullopt;
}

void write_process_metrics(TextWriter &out) {
    const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    const auto stat_text = util::read_small_file("/proc/self/stat");
    const auto stat = stat_text ? parse_proc_stat(*stat_text) : std::nullopt;
    if (stat && ticks > 0) {
        out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        out.sample("process_cpu_seconds_total", {}, static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks);
        out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        out.sample("process_resident_memory_bytes", {}, static_cast<double>(stat->rss_pages) * page);
        out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        out.sample("process_virtual_memory_bytes", {}, static_cast<double>(stat->vsize_bytes));
        const auto all_text = util::read_small_file("/proc/stat");
        if (const auto boot = all_text ? parse_boot_time(*all_text) : std::nullopt) {
            out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
            out.sample("process_start_time_seconds", {},
                       static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / ticks);
        }
    }
    std::error_code ec;
    size_t fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
    if (!ec) {
        // The iterator's own descriptor is among them: not one the agent holds.
        out.family("process_open_fds", "gauge", "Number of open file descriptors.");
        out.sample("process_open_fds", {}, static_cast<double>(fds > 0 ? fds - 1 : 0));
    }
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
        out.sample("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
    }
}

}  // namespace systemk::metrics
