#include "stats/summary.h"

#include <ctime>

#include "metrics/text_format.h"

namespace systemk::stats {
namespace json = boost::json;
namespace {

void put(json::object &o, const char *key, const std::optional<uint64_t> &v) {
    if (v) o[key] = *v;
}

json::object cpu_json(const std::string &time, const std::optional<uint64_t> &core_ns, const std::optional<uint64_t> &nano_cores) {
    json::object o{{"time", time}};
    put(o, "usageNanoCores", nano_cores);
    put(o, "usageCoreNanoSeconds", core_ns);
    return o;
}

json::object memory_json(const std::string &time, const CgroupUsage &u, const std::optional<uint64_t> &limit) {
    json::object o{{"time", time}};
    if (limit && u.working_set_bytes) o["availableBytes"] = *limit > *u.working_set_bytes ? *limit - *u.working_set_bytes : 0;
    put(o, "usageBytes", u.memory_bytes);
    put(o, "workingSetBytes", u.working_set_bytes);
    put(o, "rssBytes", u.rss_bytes);
    put(o, "pageFaults", u.page_faults);
    put(o, "majorPageFaults", u.major_page_faults);
    return o;
}

json::object fs_json(const std::string &time, const FsStats &fs) {
    return {{"time", time},
            {"availableBytes", fs.available_bytes},
            {"capacityBytes", fs.capacity_bytes},
            {"usedBytes", fs.used_bytes},
            {"inodesFree", fs.inodes_free},
            {"inodes", fs.inodes},
            {"inodesUsed", fs.inodes_used}};
}

json::object interface_json(const InterfaceStats &i) {
    return {{"name", i.name}, {"rxBytes", i.rx_bytes}, {"rxErrors", i.rx_errors}, {"txBytes", i.tx_bytes}, {"txErrors", i.tx_errors}};
}

// Adds b to a when both are known; unknown stays unknown.
void add(std::optional<uint64_t> &a, const std::optional<uint64_t> &b, bool first) {
    if (first) a = b;
    else if (a && b) *a += *b;
    else a.reset();
}

struct PodTotals {
    CgroupUsage usage;
    std::optional<uint64_t> nano_cores;
    std::optional<uint64_t> memory_limit;
};

PodTotals pod_totals(const PodSample &pod) {
    PodTotals t;
    bool first = true;
    for (const auto &c : pod.containers) {
        add(t.usage.cpu_ns, c.usage.cpu_ns, first);
        add(t.nano_cores, c.usage_nano_cores, first);
        add(t.usage.memory_bytes, c.usage.memory_bytes, first);
        add(t.usage.working_set_bytes, c.usage.working_set_bytes, first);
        add(t.usage.rss_bytes, c.usage.rss_bytes, first);
        add(t.usage.page_faults, c.usage.page_faults, first);
        add(t.usage.major_page_faults, c.usage.major_page_faults, first);
        add(t.usage.processes, c.usage.processes, first);
        add(t.memory_limit, c.memory_limit_bytes, first);
        first = false;
    }
    return t;
}

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

std::string rfc3339(int64_t seconds_since_epoch) {
    const std::time_t t = static_cast<std::time_t>(seconds_since_epoch);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

json::object summary_json(const Snapshot &s) {
    const auto time = rfc3339(s.time_ms / 1000);
    const auto &n = s.node;
    json::object node{{"nodeName", n.name}, {"startTime", rfc3339(n.start_time)}};
    if (n.cpu) node["cpu"] = cpu_json(time, n.cpu->usage_ns, n.usage_nano_cores);
    if (n.memory) {
        node["memory"] = json::object{{"time", time},
                                      {"availableBytes", n.memory->available_bytes},
                                      {"usageBytes", n.memory->usage_bytes},
                                      {"workingSetBytes", n.memory->working_set_bytes},
                                      {"rssBytes", n.memory->rss_bytes},
                                      {"pageFaults", n.memory->page_faults},
                                      {"majorPageFaults", n.memory->major_page_faults}};
    }
    json::object network{{"time", time}};
    json::array interfaces;
    for (const auto &i : n.network.interfaces) {
        if (i.name == n.network.default_interface)
            for (auto &[k, v] : interface_json(i)) network[k] = v;
        interfaces.push_back(interface_json(i));
    }
    network["interfaces"] = std::move(interfaces);
    node["network"] = std::move(network);
    if (n.root_fs) node["fs"] = fs_json(time, *n.root_fs);
    if (n.image_fs) node["runtime"] = json::object{{"imageFs", fs_json(time, *n.image_fs)}};
    if (n.limits)
        node["rlimit"] = json::object{{"time", time}, {"maxpid", n.limits->max_pid}, {"curproc", n.limits->processes}};

    json::array pods;
    for (const auto &p : s.pods) {
        json::object pod{{"podRef", json::object{{"name", p.name}, {"namespace", p.namespace_}, {"uid", p.uid}}},
                         {"startTime", rfc3339(p.start_time)}};
        json::array containers;
        for (const auto &c : p.containers)
            containers.push_back(json::object{{"name", c.name},
                                              {"startTime", rfc3339(c.start_time)},
                                              {"cpu", cpu_json(time, c.usage.cpu_ns, c.usage_nano_cores)},
                                              {"memory", memory_json(time, c.usage, c.memory_limit_bytes)}});
        pod["containers"] = std::move(containers);
        if (!p.containers.empty()) {
            const auto t = pod_totals(p);
            pod["cpu"] = cpu_json(time, t.usage.cpu_ns, t.nano_cores);
            pod["memory"] = memory_json(time, t.usage, t.memory_limit);
            if (t.usage.processes) pod["process_stats"] = json::object{{"process_count", *t.usage.processes}};
        }
        json::array volumes;
        std::optional<FsStats> ephemeral;
        for (const auto &v : p.volumes) {
            FsStats fs = v.fs;
            fs.used_bytes = v.used.bytes;
            fs.inodes_used = v.used.inodes;
            auto volume = fs_json(time, fs);
            volume["name"] = v.name;
            volumes.push_back(std::move(volume));
            for (const auto &name : p.ephemeral_volumes) {
                if (name != v.name) continue;
                if (!ephemeral) {
                    ephemeral = p.ephemeral_fs ? *p.ephemeral_fs : v.fs;
                    ephemeral->used_bytes = 0;
                    ephemeral->inodes_used = 0;
                }
                ephemeral->used_bytes += v.used.bytes;
                ephemeral->inodes_used += v.used.inodes;
            }
        }
        if (!volumes.empty()) pod["volume"] = std::move(volumes);
        if (ephemeral) pod["ephemeral-storage"] = fs_json(time, *ephemeral);
        pods.push_back(std::move(pod));
    }
    return {{"node", std::move(node)}, {"pods", std::move(pods)}};
}

std::string resource_metrics_text(const Snapshot &s) {
    metrics::TextWriter w;
    const auto ts = s.time_ms;
    using metrics::Labels;
    w.family("container_cpu_usage_seconds_total", "counter",
             "[ALPHA] Cumulative cpu time consumed by the container in core-seconds");
    for (const auto &p : s.pods)
        for (const auto &c : p.containers)
            if (c.usage.cpu_ns)
                w.sample("container_cpu_usage_seconds_total", Labels{{"container", c.name}, {"namespace", p.namespace_}, {"pod", p.name}},
                         seconds(*c.usage.cpu_ns), ts);
    w.family("container_memory_working_set_bytes", "gauge", "[ALPHA] Current working set of the container in bytes");
    for (const auto &p : s.pods)
        for (const auto &c : p.containers)
            if (c.usage.working_set_bytes)
                w.sample("container_memory_working_set_bytes", Labels{{"container", c.name}, {"namespace", p.namespace_}, {"pod", p.name}},
                         static_cast<double>(*c.usage.working_set_bytes), ts);
    w.family("container_start_time_seconds", "gauge", "[ALPHA] Start time of the container since unix epoch in seconds");
    for (const auto &p : s.pods)
        for (const auto &c : p.containers)
            w.sample("container_start_time_seconds", Labels{{"container", c.name}, {"namespace", p.namespace_}, {"pod", p.name}},
                     static_cast<double>(c.start_time), ts);
    w.family("node_cpu_usage_seconds_total", "counter", "[ALPHA] Cumulative cpu time consumed by the node in core-seconds");
    if (s.node.cpu) w.sample("node_cpu_usage_seconds_total", {}, seconds(s.node.cpu->usage_ns), ts);
    w.family("node_memory_working_set_bytes", "gauge", "[ALPHA] Current working set of the node in bytes");
    if (s.node.memory) w.sample("node_memory_working_set_bytes", {}, static_cast<double>(s.node.memory->working_set_bytes), ts);
    w.family("pod_cpu_usage_seconds_total", "counter", "[ALPHA] Cumulative cpu time consumed by the pod in core-seconds");
    std::vector<PodTotals> totals;
    for (const auto &p : s.pods) totals.push_back(pod_totals(p));
    for (size_t i = 0; i < s.pods.size(); ++i)
        if (!s.pods[i].containers.empty() && totals[i].usage.cpu_ns)
            w.sample("pod_cpu_usage_seconds_total", Labels{{"namespace", s.pods[i].namespace_}, {"pod", s.pods[i].name}},
                     seconds(*totals[i].usage.cpu_ns), ts);
    w.family("pod_memory_working_set_bytes", "gauge", "[ALPHA] Current working set of the pod in bytes");
    for (size_t i = 0; i < s.pods.size(); ++i)
        if (!s.pods[i].containers.empty() && totals[i].usage.working_set_bytes)
            w.sample("pod_memory_working_set_bytes", Labels{{"namespace", s.pods[i].namespace_}, {"pod", s.pods[i].name}},
                     static_cast<double>(*totals[i].usage.working_set_bytes), ts);
    w.family("scrape_error", "gauge", "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise");
    w.sample("scrape_error", {}, s.node.cpu && s.node.memory ? 0 : 1);
    return w.take();
}

}  // namespace systemk::stats
