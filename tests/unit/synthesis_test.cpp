#include <gtest/gtest.h>

#include <set>

#include "pods/spec_error.h"
#include "pods/yaml_to_json.h"
#include "units/synthesis.h"
#include "units/unit_name.h"

using namespace systemk;
using namespace systemk::units;

namespace {

struct Rendered {
    std::vector<PodUnit> units;
    std::vector<UnitFile> reparsed;
};

Rendered render(const std::string &yaml, std::map<std::string, ResolvedImage> images = {},
                std::map<std::string, PreparedVolume> volumes = {}) {
    static pods::NodeContext node = [] {
        pods::NodeContext n;
        n.node_name = "node1";
        n.internal_ip = "192.168.1.10";
        n.external_ip = "203.0.113.7";
        n.api_server_host = "127.0.0.1";
        n.api_server_port = "6443";
        return n;
    }();
    static const pods::OfflineLookup offline;
    const auto docs = pods::parse_manifests(yaml);
    const auto pod = docs.at(0).as_object();
    PodInputs in;
    in.pod = &pod;
    in.node = &node;
    in.objects = &offline;
    in.images = std::move(images);
    in.volumes = std::move(volumes);
    Rendered r;
    r.units = synthesize_pod_units(in);
    for (const auto &u : r.units) r.reparsed.push_back(parse_unit(write_unit(u.unit)));
    return r;
}

ResolvedImage path_image(const std::string &path) {
    ResolvedImage r;
    r.resolver = "pkg-path";
    r.default_command = {{path, WordOrigin::PodSpec}};
    return r;
}

std::vector<std::string> argv_of(const UnitFile &unit) {
    std::vector<std::string> out;
    for (const auto &w : split_words(*unit.find("Service")->last("ExecStart")))
        out.push_back(unescape_dollars(unescape_specifiers(w)));
    return out;
}

std::map<std::string, std::string> env_of(const UnitFile &unit) {
    std::map<std::string, std::string> out;
    for (const auto &raw : unit.find("Service")->values("Environment")) {
        const auto words = split_words(raw);
        EXPECT_EQ(words.size(), 1u) << raw;
        const auto assignment = unescape_specifiers(words.at(0));
        const auto eq = assignment.find('=');
        out[assignment.substr(0, eq)] = assignment.substr(eq + 1);
    }
    return out;
}

std::set<std::string> keys_of(const UnitSection &s) {
    std::set<std::string> out;
    for (const auto &item : s.items) out.insert(item.key);
    return out;
}

const char *kHostile = R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: hostile, namespace: default, uid: u-1}
spec:
  containers:
  - name: c
    image: /bin/sh
    command: ["/bin/sh", "-c"]
    args: ["printf '%s\n' \"$A\" \"$B\"", "quote\" and back\\slash", "x\n[Service]\nExecStartPre=/bin/false"]
    env:
    - {name: A, value: "x\n[Service]\nExecStartPre=/bin/false"}
    - {name: B, value: "100% of $HOME"}
    - {name: C, value: "tab\tand \\ backslash and \"quotes\" and 'single' %n $(A)"}
)YAML";

}  // namespace

TEST(Synthesis, HostileValuesRenderToExactlyTheIntendedDirectives) {
    const auto r = render(kHostile, {{"c", path_image("/bin/sh")}});
    ASSERT_EQ(r.reparsed.size(), 1u);
    const auto &unit = r.reparsed[0];
    // No value added a section or a directive.
    std::vector<std::string> sections;
    for (const auto &s : unit.sections) sections.push_back(s.name);
    EXPECT_EQ(sections, (std::vector<std::string>{"Unit", "Service", "X-Kubernetes"}));
    EXPECT_EQ(keys_of(*unit.find("Service")),
              (std::set<std::string>{"Type", "ExecStart", "Restart", "RemainAfterExit", "Environment", "ReadOnlyPaths", "PrivateTmp", "InaccessiblePaths",
                                     "StandardOutput", "StandardError", "SyslogIdentifier", "KillMode",
                                     "TimeoutStopSec"}));
    EXPECT_TRUE(unit.find("Service")->values("ExecStartPre").empty());
    EXPECT_EQ(argv_of(unit), (std::vector<std::string>{"/bin/sh", "-c", "printf '%s\n' \"$A\" \"$B\"",
                                                        "quote\" and back\\slash",
                                                        "x\n[Service]\nExecStartPre=/bin/false"}));
    const auto env = env_of(unit);
    EXPECT_EQ(env.at("A"), "x\n[Service]\nExecStartPre=/bin/false");
    EXPECT_EQ(env.at("B"), "100% of $HOME");
    EXPECT_EQ(env.at("C"), "tab\tand \\ backslash and \"quotes\" and 'single' %n x\n[Service]\nExecStartPre=/bin/false");
    EXPECT_EQ(env.at("HOSTNAME"), "hostile");
    EXPECT_EQ(env.at("KUBERNETES_SERVICE_HOST"), "127.0.0.1");
    EXPECT_EQ(env.at("KUBERNETES_SERVICE_PORT"), "6443");
    EXPECT_EQ(env.at("SYSTEMK_NODE_INTERNAL_IP"), "192.168.1.10");
    EXPECT_EQ(env.at("SYSTEMK_NODE_EXTERNAL_IP"), "203.0.113.7");
}

TEST(Synthesis, MetadataSectionReadsBack) {
    const auto r = render(kHostile, {{"c", path_image("/bin/sh")}});
    const auto md = read_pod_metadata(r.reparsed[0]);
    EXPECT_EQ(md.at("Namespace"), "default");
    EXPECT_EQ(md.at("PodName"), "hostile");
    EXPECT_EQ(md.at("PodUID"), "u-1");
    EXPECT_EQ(md.at("ContainerName"), "c");
    EXPECT_EQ(md.at("ContainerType"), "app");
    EXPECT_EQ(md.at("Image"), "/bin/sh");
    EXPECT_EQ(md.at("RestartPolicy"), "Always");
    EXPECT_EQ(r.units[0].name, "systemk.default.hostile.c.service");
}

TEST(Synthesis, CommandAndArgsFollowThePackageRules) {
    ResolvedImage pkg;
    pkg.resolver = "pkg-apt";
    pkg.default_command = {{"/usr/sbin/daemon", WordOrigin::Package}, {"--flag", WordOrigin::Package}, {"$OPTS", WordOrigin::Package}};
    auto pod = [](const std::string &fields) {
        return "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: daemon\n" + fields;
    };
    auto argv = [&](const std::string &fields) { return argv_of(render(pod(fields), {{"c", pkg}}).reparsed[0]); };
    EXPECT_EQ(argv(""), (std::vector<std::string>{"/usr/sbin/daemon", "--flag", "$OPTS"}));
    EXPECT_EQ(argv("    command: [/opt/other]\n"), (std::vector<std::string>{"/opt/other", "--flag", "$OPTS"}));
    EXPECT_EQ(argv("    args: [-x]\n"), (std::vector<std::string>{"/usr/sbin/daemon", "-x"}));
    EXPECT_EQ(argv("    command: [/bin/a]\n    args: [b]\n"), (std::vector<std::string>{"/bin/a", "b"}));
}

TEST(Synthesis, MissingCommandNamesTheField) {
    ResolvedImage none;
    none.resolver = "pkg-apt";
    try {
        render("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: nounit}\n", {{"c", none}});
        FAIL();
    } catch (const pods::SpecError &e) {
        EXPECT_EQ(e.field(), "spec.containers[0].command");
    }
}

TEST(Synthesis, InitContainersComeFirstAsOneshot) {
    const auto r = render(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - {name: i, image: /bin/true}\n"
        "  containers:\n  - {name: a, image: /bin/true}\n",
        {{"i", path_image("/bin/true")}, {"a", path_image("/bin/true")}});
    ASSERT_EQ(r.units.size(), 2u);
    EXPECT_TRUE(r.units[0].init);
    EXPECT_EQ(r.reparsed[0].find("Service")->last("Type"), "oneshot");
    EXPECT_EQ(r.reparsed[1].find("Service")->last("Type"), "exec");
}

TEST(Synthesis, VolumeMountsBecomeBindPaths) {
    const auto r = render(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: v, emptyDir: {}}\n  containers:\n"
        "  - name: a\n    image: /bin/true\n    volumeMounts:\n    - {name: v, mountPath: /data}\n"
        "    - {name: v, mountPath: '/ro dir', readOnly: true}\n",
        {{"a", path_image("/bin/true")}}, {{"v", {"/var/lib/systemk/pods/x/volumes/v", false}}});
    const auto &s = *r.reparsed[0].find("Service");
    EXPECT_EQ(s.last("BindPaths"), "/var/lib/systemk/pods/x/volumes/v:/data");
    EXPECT_EQ(s.last("BindReadOnlyPaths"), "/var/lib/systemk/pods/x/volumes/v:/ro\\ dir");
    EXPECT_EQ(s.last("ReadOnlyPaths"), "/");
}

TEST(Synthesis, BadInputNamesTheField) {
    const std::map<std::string, ResolvedImage> images{{"a", path_image("/bin/true")}};
    auto field_of = [&](const std::string &containers) {
        try {
            render("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers, images);
        } catch (const pods::SpecError &e) {
            return e.field();
        }
        return std::string("no error");
    };
    EXPECT_EQ(field_of("  - {name: a, image: /bin/true, env: [{name: my.var, value: x}]}\n"), "spec.containers[0].env[0].name");
    EXPECT_EQ(field_of("  - {name: a, image: /bin/true, volumeMounts: [{name: missing, mountPath: /x}]}\n"),
              "spec.containers[0].volumeMounts[0].name");
    EXPECT_EQ(field_of("  - name: a\n    image: /bin/true\n    env:\n    - name: X\n      valueFrom: {configMapKeyRef: {name: cm, key: k}}\n"),
              "spec.containers[0].env[0].valueFrom.configMapKeyRef");
    EXPECT_EQ(field_of("  - {name: a, image: /bin/true, command: [relative/bin]}\n"), "spec.containers[0].command");
    EXPECT_EQ(field_of("  - {name: a, image: /bin/true, workingDir: rel}\n"), "spec.containers[0].workingDir");
}

TEST(Synthesis, OptionalReferencesAreSkippedOffline) {
    const auto r = render(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: /bin/true\n    env:\n"
        "    - name: X\n      valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}\n",
        {{"a", path_image("/bin/true")}});
    EXPECT_FALSE(env_of(r.reparsed[0]).contains("X"));
}

TEST(Synthesis, ResourcesAndIdentity) {
    const auto r = render(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsUser: 1000, runAsGroup: 1000}\n"
        "  containers:\n  - name: a\n    image: /bin/true\n    securityContext: {allowPrivilegeEscalation: false}\n"
        "    resources:\n      requests: {cpu: 250m, memory: 32Mi}\n      limits: {cpu: '1.5', memory: 1Gi}\n",
        {{"a", path_image("/bin/true")}});
    const auto &s = *r.reparsed[0].find("Service");
    EXPECT_EQ(s.last("User"), "1000");
    EXPECT_EQ(s.last("Group"), "1000");
    EXPECT_EQ(s.last("NoNewPrivileges"), "yes");
    EXPECT_EQ(s.last("CPUQuota"), "150%");
    EXPECT_EQ(s.last("MemoryMax"), "1073741824");
    EXPECT_EQ(s.last("MemoryLow"), "33554432");
    EXPECT_TRUE(s.last("CPUWeight"));
}

TEST(Synthesis, CapabilitiesAndNamedUsers) {
    const auto r = render(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {windowsOptions: {runAsUserName: www-data}, runAsNonRoot: true}\n"
        "  containers:\n  - name: a\n    image: /bin/true\n"
        "    securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}\n",
        {{"a", path_image("/bin/true")}});
    const auto &s = *r.reparsed[0].find("Service");
    EXPECT_EQ(s.last("User"), "www-data");
    EXPECT_EQ(s.last("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
    EXPECT_EQ(s.last("AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
    EXPECT_THROW(render("kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n"
                        "  containers:\n  - {name: a, image: /bin/true}\n",
                        {{"a", path_image("/bin/true")}}),
                 pods::SpecError);
    EXPECT_THROW(render("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: /bin/true\n"
                        "    securityContext: {capabilities: {add: [\"X\\nExecStartPre=/bin/false\"]}}\n",
                        {{"a", path_image("/bin/true")}}),
                 pods::SpecError);
}
