#include "stats/stats_collector.h"

#include <boost/asio.hpp>

#include <set>

#include "pods/pod_layout.h"
#include "pods/quantity.h"
#include "server/log_options.h"
#include "units/unit_name.h"

namespace systemk::stats {
namespace json = boost::json;
namespace asio = boost::asio;
namespace {

const json::object *object_at(const json::object &o, std::string_view key) {
    const auto *v = o.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}
const json::array *array_at(const json::object &o, std::string_view key) {
    const auto *v = o.if_contains(key);
    return v && v->is_array() ? &v->get_array() : nullptr;
}
std::string string_at(const json::object *o, std::string_view key) {
    if (!o) return {};
    const auto *v = o->if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
int64_t epoch_seconds(const std::string &text, int64_t fallback) {
    const auto usec = server::parse_rfc3339(text);
    return usec ? *usec / 1000000 : fallback;
}
int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Where a volume's files are on the host, if the agent made it a directory of its own (hostPath
// volumes are the host's own files and have no stats, as with the kubelet).
struct VolumeKind {
    bool local = false;
    bool ephemeral = false;  // counts toward the pod's ephemeral storage
};
// Ephemeral storage as the kubelet counts it: the volumes on the node's disk (emptyDir not in
// memory, configMap, downwardAPI); secrets and projected tokens live in memory.
VolumeKind volume_kind(const json::object &volume) {
    if (const auto *empty = volume.if_contains("emptyDir")) {
        const bool memory = empty->is_object() && string_at(&empty->get_object(), "medium") == "Memory";
        return {true, !memory};
    }
    if (volume.contains("configMap") || volume.contains("downwardAPI")) return {true, true};
    if (volume.contains("secret") || volume.contains("projected")) return {true, false};
    return {};
}

}  // namespace

StatsCollector::StatsCollector(pods::NodeContext node, PodList pods, CgroupReader cgroups)
    : node_(std::move(node)), pods_(std::move(pods)), cgroups_(std::move(cgroups)) {}

asio::awaitable<std::string> StatsCollector::summary() {
    bool incomplete = false;
    auto snapshot = read(incomplete);
    if (incomplete) {
        // A rate needs a window: wait on this (the API's) thread, never the agent's.
        asio::steady_timer wait(co_await asio::this_coro::executor, std::chrono::seconds(1));
        co_await wait.async_wait(asio::use_awaitable);
        snapshot = read(incomplete);
    }
    co_return json::serialize(summary_json(snapshot));
}

asio::awaitable<std::string> StatsCollector::resource_metrics() {
    bool incomplete = false;
    const auto snapshot = read(incomplete);
    co_return resource_metrics_text(snapshot);
}

Snapshot StatsCollector::read(bool &incomplete) {
    incomplete = false;
    Snapshot s;
    const auto now = CpuRateTracker::Clock::now();
    s.time_ms = now_ms();
    auto &n = s.node;
    n.name = node_.node_name;
    n.start_time = read_boot_time().value_or(0);
    n.cpu = read_host_cpu();
    if (n.cpu) {
        n.usage_nano_cores = rates_.observe("node", now, n.cpu->usage_ns);
        if (!n.usage_nano_cores) incomplete = true;
    }
    n.memory = read_host_memory();
    n.network = read_host_network();
    n.root_fs = file_system_stats("/");
    n.image_fs = file_system_stats("/usr");  // packages are the images
    n.limits = read_process_limits();

    std::set<std::string> seen{"node"};
    for (const auto &pod : pods_()) {
        const auto *status = object_at(pod, "status");
        const auto phase = string_at(status, "phase");
        if (phase == "Succeeded" || phase == "Failed") continue;
        auto sample = read_pod(pod, now, seen, incomplete);
        if (!sample.uid.empty()) s.pods.push_back(std::move(sample));
    }
    rates_.retain(seen);
    std::lock_guard lock(volume_mutex_);
    for (auto it = volume_cache_.begin(); it != volume_cache_.end();)
        it = !it->second.walking && std::chrono::steady_clock::now() - it->second.at > std::chrono::minutes(5) ? volume_cache_.erase(it)
                                                                                                             : std::next(it);
    return s;
}

PodSample StatsCollector::read_pod(const json::object &pod, CpuRateTracker::Clock::time_point now, std::set<std::string> &seen,
                                   bool &incomplete) {
    PodSample p;
    const auto *meta = object_at(pod, "metadata");
    const auto *spec = object_at(pod, "spec");
    const auto *status = object_at(pod, "status");
    p.name = string_at(meta, "name");
    p.namespace_ = string_at(meta, "namespace");
    p.uid = string_at(meta, "uid");
    if (p.uid.empty() || !spec) return {};
    try {
        pods::validate_pod_uid(p.uid);
    } catch (const std::exception &) {
        return {};
    }
    p.start_time = epoch_seconds(string_at(status, "startTime"), epoch_seconds(string_at(meta, "creationTimestamp"), 0));

    std::map<std::string, int64_t> started;
    for (const char *list : {"initContainerStatuses", "containerStatuses"})
        if (const auto *statuses = status ? array_at(*status, list) : nullptr)
            for (const auto &v : *statuses) {
                if (!v.is_object()) continue;
                const auto *state = object_at(v.get_object(), "state");
                const auto *running = state ? object_at(*state, "running") : nullptr;
                if (running) started[string_at(&v.get_object(), "name")] = epoch_seconds(string_at(running, "startedAt"), p.start_time);
            }

    for (const char *list : {"initContainers", "containers"}) {
        const auto *containers = array_at(*spec, list);
        if (!containers) continue;
        for (const auto &v : *containers) {
            if (!v.is_object()) continue;
            ContainerSample c;
            c.name = string_at(&v.get_object(), "name");
            std::string unit;
            try {
                unit = units::make_unit_name(p.namespace_, p.name, c.name);
            } catch (const std::exception &) {
                continue;
            }
            c.usage = cgroups_.read(CgroupReader::unit_cgroup(unit));
            if (!c.usage.exists || (c.usage.processes && *c.usage.processes == 0)) continue;  // not running
            c.start_time = started.count(c.name) ? started[c.name] : p.start_time;
            if (c.usage.cpu_ns) {
                seen.insert(unit);
                c.usage_nano_cores = rates_.observe(unit, now, *c.usage.cpu_ns);
                if (!c.usage_nano_cores) incomplete = true;
            }
            if (const auto *resources = object_at(v.get_object(), "resources"))
                if (const auto *limits = object_at(*resources, "limits")) {
                    const auto text = string_at(limits, "memory");
                    if (!text.empty())
                        if (const auto bytes = pods::parse_quantity_scaled(text, 0); bytes && *bytes > 0)
                            c.memory_limit_bytes = static_cast<uint64_t>(*bytes);
                }
            p.containers.push_back(std::move(c));
        }
    }

    p.ephemeral_fs = file_system_stats(node_.state_dir);
    if (const auto *volumes = array_at(*spec, "volumes"))
        for (const auto &v : *volumes) {
            if (!v.is_object()) continue;
            const auto kind = volume_kind(v.get_object());
            const auto name = string_at(&v.get_object(), "name");
            if (!kind.local || name.empty()) continue;
            std::string dir;
            try {
                pods::validate_path_label(name, "volume");
                for (bool sensitive : {true, false}) {
                    const auto candidate = pods::volume_dir(node_, p.uid, name, sensitive);
                    std::error_code ec;
                    if (std::filesystem::is_directory(candidate, ec)) dir = candidate;
                }
            } catch (const std::exception &) {
                continue;
            }
            if (dir.empty()) continue;
            const auto fs = file_system_stats(dir);
            if (!fs) continue;
            const auto used = volume_usage(dir);
            if (!used) {
                incomplete = true;
                continue;
            }
            p.volumes.push_back(VolumeSample{name, *fs, *used});
            if (kind.ephemeral) p.ephemeral_volumes.push_back(name);
        }
    return p;
}

std::optional<DirectoryUsage> StatsCollector::volume_usage(const std::string &dir) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(volume_mutex_);
    auto &entry = volume_cache_[dir];
    const bool stale = !entry.usage || now - entry.at >= std::chrono::minutes(1);
    if (stale && !entry.walking) {
        entry.walking = true;
        asio::post(walker_, [this, dir] {
            const auto usage = directory_usage(dir);
            std::lock_guard done(volume_mutex_);
            auto &e = volume_cache_[dir];
            e.usage = usage;
            e.at = std::chrono::steady_clock::now();
            e.walking = false;
        });
    }
    return entry.usage;
}

}  // namespace systemk::stats
