#include "stats/cgroup_usage.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "util/read_file.h"

namespace systemk::stats {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> read_text(const fs::path &p) { return util::read_small_file(p); }

std::optional<uint64_t> parse_u64(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<uint64_t> read_u64(const fs::path &p) {
    const auto text = read_text(p);
    return text ? parse_u64(*text) : std::nullopt;
}

// The processes of `dir` and of every cgroup below it.
std::vector<long> cgroup_pids(const fs::path &dir) {
    std::vector<long> pids;
    std::error_code ec;
    auto add = [&](const fs::path &d) {
        std::ifstream in(d / "cgroup.procs");
        for (long pid; in >> pid;) pids.push_back(pid);
    };
    add(dir);
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec)) add(it->path());
    return pids;
}

uint64_t saturating_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

}  // namespace

std::optional<uint64_t> keyed_value(const std::string &text, const std::string &key) {
    size_t pos = 0;
    while (pos < text.size()) {
        const auto eol = text.find('\n', pos);
        const std::string_view line(text.data() + pos, (eol == std::string::npos ? text.size() : eol) - pos);
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ')
            return parse_u64(line.substr(key.size() + 1));
        if (eol == std::string::npos) break;
        pos = eol + 1;
    }
    return std::nullopt;
}

CgroupReader::CgroupReader(fs::path cgroup_root, fs::path proc)
    : root_(std::move(cgroup_root)), proc_(std::move(proc)), unified_(fs::exists(root_ / "cgroup.controllers")) {}

CgroupUsage CgroupReader::read(const std::string &cgroup) const {
    const auto relative = cgroup.empty() || cgroup.front() != '/' ? cgroup : cgroup.substr(1);
    if (relative.find("..") != std::string::npos) return {};  // a ControlGroup= never has one
    return unified_ ? read_unified(root_ / relative) : read_legacy(relative);
}

CgroupUsage CgroupReader::read_unified(const fs::path &dir) const {
    CgroupUsage u;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return u;
    u.exists = true;
    if (const auto cpu = read_text(dir / "cpu.stat"))
        if (const auto usec = keyed_value(*cpu, "usage_usec")) u.cpu_ns = *usec * 1000;
    if (const auto current = read_u64(dir / "memory.current")) {
        u.memory_bytes = current;
        const auto stat = read_text(dir / "memory.stat").value_or("");
        u.working_set_bytes = saturating_sub(*current, keyed_value(stat, "inactive_file").value_or(0));
        u.rss_bytes = keyed_value(stat, "anon");
        u.page_faults = keyed_value(stat, "pgfault");
        u.major_page_faults = keyed_value(stat, "pgmajfault");
    }
    u.tasks = read_u64(dir / "pids.current");
    if (!u.memory_bytes || !u.tasks || !u.cpu_ns) {
        fill_from_processes(dir, u);
    } else {
        std::ifstream in(dir / "cgroup.procs");
        uint64_t n = 0;
        for (long pid; in >> pid;) ++n;
        u.processes = n;
    }
    return u;
}

CgroupUsage CgroupReader::read_legacy(const std::string &relative) const {
    CgroupUsage u;
    std::error_code ec;
    // Where the unit's processes are listed: systemd's own hierarchy, else the v2 tree.
    fs::path members;
    for (const char *h : {"systemd", "unified"})
        if (fs::is_directory(root_ / h / relative, ec)) {
            members = root_ / h / relative;
            break;
        }
    if (members.empty()) return u;
    u.exists = true;
    for (const char *h : {"cpuacct", "cpu,cpuacct"})
        if ((u.cpu_ns = read_u64(root_ / h / relative / "cpuacct.usage"))) break;
    if (!u.cpu_ns)
        if (const auto cpu = read_text(root_ / "unified" / relative / "cpu.stat"))
            if (const auto usec = keyed_value(*cpu, "usage_usec")) u.cpu_ns = *usec * 1000;
    const auto memory = root_ / "memory" / relative;
    if (const auto usage = read_u64(memory / "memory.usage_in_bytes")) {
        const auto stat = read_text(memory / "memory.stat").value_or("");
        u.memory_bytes = usage;
        u.working_set_bytes = saturating_sub(*usage, keyed_value(stat, "total_inactive_file").value_or(0));
        u.rss_bytes = keyed_value(stat, "total_rss");
        u.page_faults = keyed_value(stat, "total_pgfault");
        u.major_page_faults = keyed_value(stat, "total_pgmajfault");
    }
    u.tasks = read_u64(root_ / "pids" / relative / "pids.current");
    fill_from_processes(members, u);
    return u;
}

void CgroupReader::fill_from_processes(const fs::path &dir, CgroupUsage &u) const {
    CgroupUsage from_processes;
    add_process_usage(dir, from_processes, !u.cpu_ns);
    if (!u.cpu_ns) u.cpu_ns = from_processes.cpu_ns;
    if (!u.memory_bytes) {
        u.memory_bytes = from_processes.memory_bytes;
        u.working_set_bytes = from_processes.working_set_bytes;
        u.rss_bytes = from_processes.rss_bytes;
        u.page_faults = from_processes.page_faults;
        u.major_page_faults = from_processes.major_page_faults;
    }
    if (!u.tasks) u.tasks = from_processes.tasks;
    u.processes = from_processes.processes;
}

void CgroupReader::add_process_usage(const fs::path &dir, CgroupUsage &usage, bool with_cpu) const {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    static const uint64_t ticks = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    uint64_t resident = 0, anon = 0, minflt = 0, majflt = 0, threads = 0, cpu_ticks = 0, processes = 0;
    for (const long pid : cgroup_pids(dir)) {
        const auto base = proc_ / std::to_string(pid);
        const auto statm = read_text(base / "statm");
        const auto stat = read_text(base / "stat");
        if (!statm || !stat) continue;  // gone meanwhile
        std::istringstream m(*statm);
        uint64_t size = 0, res = 0, shared = 0;
        m >> size >> res >> shared;
        resident += res * page;
        anon += saturating_sub(res, shared) * page;
        // Fields after the command (which may hold spaces and parentheses) start at the last ')'.
        const auto close = stat->rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream f(stat->substr(close + 2));
        std::vector<std::string> fields;
        for (std::string field; f >> field;) fields.push_back(field);
        // state(3) ... minflt(10) majflt(12) utime(14) stime(15) num_threads(20), 1-based in proc(5)
        auto field = [&](size_t n) { return n - 3 < fields.size() ? parse_u64(fields[n - 3]).value_or(0) : 0; };
        minflt += field(10);
        majflt += field(12);
        cpu_ticks += field(14) + field(15);
        threads += field(20);
        ++processes;
    }
    usage.memory_bytes = resident;
    usage.working_set_bytes = resident;
    usage.rss_bytes = anon;
    usage.page_faults = minflt;
    usage.major_page_faults = majflt;
    usage.tasks = threads;
    usage.processes = processes;
    if (with_cpu) usage.cpu_ns = cpu_ticks * (1000000000 / ticks);
}

}  // namespace systemk::stats
