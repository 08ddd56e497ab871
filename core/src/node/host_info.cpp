#include "node/host_info.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace systemk::node {
namespace {

std::string first_line(const std::string &path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string read_all(const std::string &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string kube_arch(const std::string &machine) {
    if (machine == "x86_64") return "amd64";
    if (machine == "aarch64") return "arm64";
    if (machine.rfind("armv7", 0) == 0) return "arm";
    if (machine == "i686" || machine == "i386") return "386";
    return machine;  // ppc64le, s390x, riscv64 use the same names
}

}  // namespace

std::string os_release_value(const std::string &text, const std::string &key) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + "=", 0) != 0) continue;
        auto v = line.substr(key.size() + 1);
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
        return v;
    }
    return {};
}

HostInfo read_host_info(const std::string &storage_path) {
    HostInfo h;
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    h.hostname = name;
    auto os = read_all("/etc/os-release");
    if (os.empty()) os = read_all("/usr/lib/os-release");
    h.os_image = os_release_value(os, "PRETTY_NAME");
    if (h.os_image.empty()) h.os_image = os_release_value(os, "NAME");
    utsname u{};
    if (uname(&u) == 0) {
        h.kernel_version = u.release;
        h.architecture = kube_arch(u.machine);
    }
    h.machine_id = first_line("/etc/machine-id");
    h.boot_id = first_line("/proc/sys/kernel/random/boot_id");
    h.system_uuid = first_line("/sys/class/dmi/id/product_uuid");
    h.cpus = sysconf(_SC_NPROCESSORS_ONLN);
    std::istringstream meminfo(read_all("/proc/meminfo"));
    std::string key;
    int64_t kib = 0;
    while (meminfo >> key >> kib) {
        if (key == "MemTotal:") {
            h.memory_bytes = kib * 1024;
            break;
        }
        meminfo.ignore(256, '\n');
    }
    std::filesystem::path p = storage_path;
    while (!p.empty() && !std::filesystem::exists(p) && p != p.root_path()) p = p.parent_path();
    struct statvfs fs {};
    if (statvfs(p.empty() ? "/" : p.c_str(), &fs) == 0)
        h.ephemeral_storage_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    return h;
}

}  // namespace systemk::node
