#include "stats/host_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

namespace systemk::stats {
namespace fs = std::filesystem;

std::optional<HostCpu> read_host_cpu(const fs::path &proc) {
    std::ifstream in(proc / "stat");
    std::string label;
    if (!(in >> label) || label != "cpu") return std::nullopt;
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    uint64_t v[8] = {};
    for (auto &x : v)
        if (!(in >> x)) return std::nullopt;
    const uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    const uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    return HostCpu{busy * (1000000000 / hz)};
}

std::optional<int64_t> read_boot_time(const fs::path &proc) {
    std::ifstream in(proc / "stat");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("btime ", 0) == 0) return std::stoll(line.substr(6));
    return std::nullopt;
}

std::optional<HostMemory> read_host_memory(const fs::path &proc) {
    std::ifstream in(proc / "meminfo");
    std::map<std::string, uint64_t> kib;
    for (std::string key; in >> key;) {
        uint64_t value = 0;
        in >> value;
        in.ignore(64, '\n');
        if (!key.empty() && key.back() == ':') key.pop_back();
        kib[key] = value;
    }
    if (!kib.count("MemTotal") || !kib.count("MemFree")) return std::nullopt;
    HostMemory m;
    m.total_bytes = kib["MemTotal"] * 1024;
    m.usage_bytes = (kib["MemTotal"] - std::min(kib["MemTotal"], kib["MemFree"])) * 1024;
    const uint64_t inactive_file = kib["Inactive(file)"] * 1024;
    m.working_set_bytes = m.usage_bytes > inactive_file ? m.usage_bytes - inactive_file : 0;
    m.available_bytes = m.total_bytes - std::min(m.total_bytes, m.working_set_bytes);
    m.rss_bytes = kib["AnonPages"] * 1024;
    std::ifstream vm(proc / "vmstat");
    for (std::string key; vm >> key;) {
        uint64_t value = 0;
        vm >> value;
        if (key == "pgfault") m.page_faults = value;
        else if (key == "pgmajfault") m.major_page_faults = value;
    }
    return m;
}

HostNetwork read_host_network(const fs::path &proc) {
    HostNetwork net;
    std::ifstream dev(proc / "net" / "dev");
    std::string line;
    std::getline(dev, line);  // two header lines
    std::getline(dev, line);
    while (std::getline(dev, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        InterfaceStats s;
        std::istringstream name(line.substr(0, colon));
        name >> s.name;
        if (s.name.empty() || s.name == "lo") continue;
        // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs ...
        std::istringstream f(line.substr(colon + 1));
        uint64_t v[16] = {};
        for (auto &x : v) f >> x;
        s.rx_bytes = v[0];
        s.rx_errors = v[2];
        s.tx_bytes = v[8];
        s.tx_errors = v[10];
        net.interfaces.push_back(s);
    }
    std::ifstream route(proc / "net" / "route");
    std::getline(route, line);
    while (std::getline(route, line)) {
        std::istringstream f(line);
        std::string iface, destination;
        if (f >> iface >> destination && destination == "00000000") {
            net.default_interface = iface;
            break;
        }
    }
    if (net.default_interface.empty() && !net.interfaces.empty()) net.default_interface = net.interfaces.front().name;
    return net;
}

std::optional<FsStats> file_system_stats(const fs::path &path) {
    struct statvfs v{};
    if (::statvfs(path.c_str(), &v) != 0) return std::nullopt;
    FsStats s;
    const uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
    s.capacity_bytes = v.f_blocks * unit;
    s.available_bytes = v.f_bavail * unit;
    s.used_bytes = (v.f_blocks - v.f_bfree) * unit;
    s.inodes = v.f_files;
    s.inodes_free = v.f_ffree;
    s.inodes_used = v.f_files - std::min(v.f_files, v.f_ffree);
    return s;
}

namespace {

// Adds what lies below the open directory `dir` (on device `dev`). Every step is relative to
// a descriptor and never follows a link, so a pod renaming its files while the walk runs (as
// root) cannot steer it out of the volume; an entry that cannot be read is skipped, not the rest.
void add_directory(int dir, dev_t dev, DirectoryUsage &u, int depth) {
    DIR *d = ::fdopendir(dir);
    if (!d) {
        ::close(dir);
        return;
    }
    while (const dirent *e = ::readdir(d)) {
        const std::string_view name(e->d_name);
        if (name == "." || name == "..") continue;
        struct stat st{};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
        u.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
        u.inodes += 1;
        if (S_ISDIR(st.st_mode) && depth < 256) {
            const int sub = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) add_directory(sub, dev, u, depth + 1);
        }
    }
    ::closedir(d);
}

}  // namespace

DirectoryUsage directory_usage(const fs::path &dir) {
    DirectoryUsage u;
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return u;
    struct stat top{};
    if (::fstat(fd, &top) != 0) {
        ::close(fd);
        return u;
    }
    u.bytes += static_cast<uint64_t>(top.st_blocks) * 512;
    u.inodes += 1;
    add_directory(fd, top.st_dev, u, 0);
    return u;
}

std::optional<ProcessLimits> read_process_limits(const fs::path &proc) {
    ProcessLimits l;
    std::ifstream max(proc / "sys" / "kernel" / "pid_max");
    if (!(max >> l.max_pid)) return std::nullopt;
    // loadavg's fourth field is "runnable/total" scheduling entities (threads)
    std::ifstream load(proc / "loadavg");
    std::string a, b, c, entities;
    if (load >> a >> b >> c >> entities) {
        const auto slash = entities.find('/');
        if (slash != std::string::npos) l.processes = std::stoull(entities.substr(slash + 1));
    }
    return l;
}

}  // namespace systemk::stats
