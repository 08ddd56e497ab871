#include "node/node_object.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace systemk::node {
namespace {
namespace json = boost::json;

json::object resources(const NodeSettings &s, const HostInfo &h) {
    return {{"cpu", std::to_string(h.cpus)},
            {"memory", std::to_string(h.memory_bytes / 1024) + "Ki"},
            {"pods", std::to_string(s.max_pods)},
            {"ephemeral-storage", std::to_string(h.ephemeral_storage_bytes / 1024) + "Ki"}};
}

json::object condition(const char *type, bool status, const char *reason, const std::string &message,
                       const std::string &now, const std::string &since) {
    return {{"type", type}, {"status", status ? "True" : "False"}, {"reason", reason}, {"message", message},
            {"lastHeartbeatTime", now}, {"lastTransitionTime", since}};
}

}  // namespace

json::object node_labels(const NodeSettings &s, const HostInfo &h) {
    return {{"kubernetes.io/os", "linux"},
            {"kubernetes.io/arch", h.architecture},
            {"kubernetes.io/hostname", s.name},
            {"node.kubernetes.io/instance-type", "systemk"}};
}

json::object new_node(const NodeSettings &s, const HostInfo &h) {
    json::object node{{"apiVersion", "v1"}, {"kind", "Node"},
                      {"metadata", json::object{{"name", s.name}, {"labels", node_labels(s, h)}}}};
    json::object spec;
    if (s.taint)
        spec["taints"] = json::array{json::object{{"key", kTaintKey}, {"value", kTaintValue}, {"effect", "NoSchedule"}}};
    node["spec"] = spec;
    return node;
}

json::object node_status(const NodeSettings &s, const HostInfo &h, const Readiness &r, const std::string &now,
                         const std::string &ready_since) {
    json::array addresses{json::object{{"type", "InternalIP"}, {"address", s.addresses.internal_ip}}};
    addresses.push_back(json::object{{"type", "ExternalIP"}, {"address", s.addresses.external_ip}});
    addresses.push_back(json::object{{"type", "Hostname"}, {"address", h.hostname.empty() ? s.name : h.hostname}});
    const std::string runtime = s.systemd_version.empty() ? "systemd" : "systemd " + s.systemd_version;
    return {
        {"capacity", resources(s, h)},
        {"allocatable", resources(s, h)},
        {"conditions", json::array{
            condition("Ready", r.ready, r.reason.c_str(), r.message, now, ready_since),
            condition("MemoryPressure", false, "KubeletHasSufficientMemory", "systemk has sufficient memory", now, ready_since),
            condition("DiskPressure", false, "KubeletHasNoDiskPressure", "systemk has no disk pressure", now, ready_since),
            condition("PIDPressure", false, "KubeletHasSufficientPID", "systemk has sufficient PID available", now, ready_since),
        }},
        {"addresses", addresses},
        {"daemonEndpoints", json::object{{"kubeletEndpoint", json::object{{"Port", s.kubelet_port}}}}},
        {"nodeInfo", json::object{
            {"machineID", h.machine_id}, {"systemUUID", h.system_uuid}, {"bootID", h.boot_id},
            {"kernelVersion", h.kernel_version}, {"osImage", h.os_image}, {"containerRuntimeVersion", runtime},
            {"kubeletVersion", "v" + s.agent_version + "-systemk"}, {"kubeProxyVersion", ""},
            {"operatingSystem", "linux"}, {"architecture", h.architecture}}},
    };
}

std::string status_fingerprint(const json::object &status) {
    auto copy = status;
    if (auto *conditions = copy.if_contains("conditions"); conditions && conditions->is_array())
        for (auto &c : conditions->as_array())
            if (c.is_object()) c.as_object().erase("lastHeartbeatTime");
    return json::serialize(copy);
}

std::string rfc3339_now() {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string rfc3339_micro_now() {
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(micros));
    return out;
}

}  // namespace systemk::node
