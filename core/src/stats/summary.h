#pragma once
// The stats summary (stats/v1alpha1, what `kubectl top` and metrics-server read from
// /stats/summary) and the resource metrics (/metrics/resource), both built by pure functions
// from one snapshot of readings, so the two never disagree and both are table-tested.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stats/cgroup_usage.h"
#include "stats/host_usage.h"

namespace systemk::stats {

struct ContainerSample {
    std::string name;
    int64_t start_time = 0;  // seconds since the epoch
    CgroupUsage usage;
    std::optional<uint64_t> usage_nano_cores;
    std::optional<uint64_t> memory_limit_bytes;
};

struct VolumeSample {
    std::string name;
    FsStats fs;           // the file system the volume lives on
    DirectoryUsage used;  // what the volume holds
};

struct PodSample {
    std::string name, namespace_, uid;
    int64_t start_time = 0;
    std::vector<ContainerSample> containers;
    std::vector<VolumeSample> volumes;
    std::vector<std::string> ephemeral_volumes;  // names of volumes that count as ephemeral storage
    std::optional<FsStats> ephemeral_fs;         // the file system ephemeral storage is on
};

struct NodeSample {
    std::string name;
    int64_t start_time = 0;
    std::optional<HostCpu> cpu;
    std::optional<uint64_t> usage_nano_cores;
    std::optional<HostMemory> memory;
    HostNetwork network;
    std::optional<FsStats> root_fs;
    std::optional<FsStats> image_fs;
    std::optional<ProcessLimits> limits;
};

struct Snapshot {
    int64_t time_ms = 0;  // when it was read, milliseconds since the epoch
    NodeSample node;
    std::vector<PodSample> pods;
};

boost::json::object summary_json(const Snapshot &s);
std::string resource_metrics_text(const Snapshot &s);

// RFC 3339 in UTC with seconds, as metav1.Time serialises.
std::string rfc3339(int64_t seconds_since_epoch);

}  // namespace systemk::stats
