// libFuzzer target over the whole pod -> units path: arbitrary bytes become a pod (as JSON
// when they parse as an object, else spread over the fields a pod author controls). Synthesis
// may refuse with a SpecError, nothing else; what it writes must read back identically, hold
// only the sections and directives systemk writes, start with a first word systemd cannot read
// as a separator or prefix, and never contain a secret's bytes.
#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "pods/spec_error.h"
#include "units/synthesis.h"

using namespace systemk;
namespace json = boost::json;

namespace {

constexpr const char *kSecretMarker = "Zq9-SECRET-9qZ";

class FuzzLookup : public pods::ObjectLookup {
public:
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &, const std::string &) const override {
        return Data{{"k", "cm-value"}, {"A", "$(B)"}};
    }
    std::optional<Data> secret(const std::string &, const std::string &) const override {
        return Data{{"k", std::string(kSecretMarker) + "\n\"$%`\\"}, {"T", kSecretMarker}};
    }
};

json::object pod_from_fields(const std::vector<std::string> &f) {
    auto at = [&](size_t i) { return i < f.size() ? f[i] : std::string("x"); };
    json::object container{
        {"name", "c"},
        {"image", at(0)},
        {"command", json::array{at(1), at(2)}},
        {"args", json::array{at(3), "$(" + at(4) + ")", "--t=$(T)"}},
        {"workingDir", at(5)},
        {"env", json::array{json::object{{"name", at(4)}, {"value", at(6)}},
                            json::object{{"name", "T"}, {"valueFrom", json::object{{"secretKeyRef", json::object{{"name", "s"}, {"key", "k"}}}}}},
                            json::object{{"name", "U"}, {"value", "pre-$(T)-" + at(7)}}}},
        {"envFrom", json::array{json::object{{"prefix", at(8)}, {"secretRef", json::object{{"name", "s"}}}}}},
        {"volumeMounts", json::array{json::object{{"name", "v"}, {"mountPath", at(9)}, {"subPath", at(10)}}}},
        {"resources", json::object{{"limits", json::object{{"memory", at(11)}, {"cpu", at(12)}}}}},
        {"securityContext", json::object{{"capabilities", json::object{{"add", json::array{at(13)}}, {"drop", json::array{at(14)}}}},
                                         {"seccompProfile", json::object{{"type", at(15)}}}}}};
    return {{"metadata", json::object{{"name", at(16)}, {"namespace", "ns"}, {"uid", "0a1b-2c"}}},
            {"spec", json::object{{"containers", json::array{container}}, {"volumes", json::array{json::object{{"name", "v"}, {"emptyDir", json::object{}}}}}}}};
}

const std::set<std::string> &service_keys() {
    static const std::set<std::string> keys = {
        "Type", "ExecStart", "Restart", "RemainAfterExit", "Environment", "EnvironmentFile", "WorkingDirectory",
        "User", "Group", "SupplementalGroups", "CPUWeight", "CPUQuota", "MemoryLow", "MemoryMax", "MemorySwapMax",
        "CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges", "ProtectSystem", "ProtectHome",
        "PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
        "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "PrivateIPC", "RestrictSUIDSGID",
        "LockPersonality", "RestrictRealtime", "RestrictNamespaces", "RestrictAddressFamilies",
        "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "InaccessiblePaths", "BindPaths",
        "BindReadOnlyPaths", "StandardOutput", "StandardError", "SyslogIdentifier", "LogExtraFields", "KillMode", "TimeoutStopSec"};
    return keys;
}

void check(const units::PodUnit &pu) {
    const auto text = units::write_unit(pu.unit);
    if (text.find(kSecretMarker) != std::string::npos) std::abort();
    const auto back = units::parse_unit(text);
    if (!(back == pu.unit)) std::abort();
    std::vector<std::string> sections;
    for (const auto &s : back.sections) sections.push_back(s.name);
    if (sections != std::vector<std::string>{"Unit", "Service", "X-Kubernetes"}) std::abort();
    const auto &service = *back.find("Service");
    for (const auto &item : service.items)
        if (!item.is_comment() && !service_keys().contains(item.key)) std::abort();
    const auto exec = service.values("ExecStart");
    if (exec.size() != 1) std::abort();
    const auto words = units::split_words(exec[0]);
    if (words.empty() || words[0].empty() || words[0] == ";") std::abort();
    if (std::string_view("-@:+!|").find(words[0][0]) != std::string_view::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string input(reinterpret_cast<const char *>(data), size);
    json::object pod;
    boost::system::error_code ec;
    const auto parsed = json::parse(input, ec);
    if (!ec && parsed.is_object()) {
        pod = parsed.get_object();
    } else {
        std::vector<std::string> fields;
        size_t start = 0;
        while (start <= input.size() && fields.size() < 17) {
            const auto sep = input.find('\x01', start);
            fields.push_back(input.substr(start, sep == std::string::npos ? std::string::npos : sep - start));
            if (sep == std::string::npos) break;
            start = sep + 1;
        }
        pod = pod_from_fields(fields);
    }
    static const FuzzLookup lookup;
    static const pods::NodeContext node = [] {
        pods::NodeContext n;
        n.node_name = "node1";
        n.internal_ip = "10.0.0.2";
        return n;
    }();
    units::PodInputs in;
    in.pod = &pod;
    in.node = &node;
    in.objects = &lookup;
    units::ResolvedImage image;
    image.resolver = "pkg-path";
    image.default_command = {{"/bin/sh", units::WordOrigin::PodSpec}};
    in.images = {{"c", image}};
    in.volumes = {{"v", {"/var/lib/systemk/pods/0a1b-2c/volumes/v", false}}};
    try {
        for (const auto &pu : units::synthesize_pod_units(in)) check(pu);
    } catch (const pods::SpecError &) {
    }
    return 0;
}
