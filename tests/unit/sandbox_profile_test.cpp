// The default unit profile, securityContext mapping, exec-line safety and secret-derived
// environment (issue 8): what a pod's unit may and may not do on the host.
#include <gtest/gtest.h>

#include "pods/spec_error.h"
#include "pods/yaml_to_json.h"
#include "units/sandbox_profile.h"
#include "units/synthesis.h"

using namespace systemk;
using namespace systemk::units;

namespace {

class SecretLookup : public pods::ObjectLookup {
public:
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &, const std::string &) const override { return std::nullopt; }
    std::optional<Data> secret(const std::string &, const std::string &name) const override {
        if (name == "s") return Data{{"token", "s3cr3t-\"$x`\\\n%n"}, {"plus", "+/bin/sh"}};
        return std::nullopt;
    }
};

const pods::NodeContext &node() {
    static const pods::NodeContext n = [] {
        pods::NodeContext c;
        c.node_name = "node1";
        c.internal_ip = "192.168.1.10";
        c.private_paths = {"/etc/kubernetes/kubelet.conf"};
        return c;
    }();
    return n;
}

std::vector<PodUnit> synth(const std::string &spec_yaml) {
    static const SecretLookup lookup;
    const auto pod = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: 0a1b-2c}\nspec:\n" + spec_yaml)
                         .at(0)
                         .as_object();
    PodInputs in;
    in.pod = &pod;
    in.node = &node();
    in.objects = &lookup;
    ResolvedImage image;
    image.resolver = "pkg-path";
    image.default_command = {{"/bin/sh", WordOrigin::PodSpec}};
    in.images = {{"c", image}};
    return synthesize_pod_units(in);
}

UnitSection service_of(const std::string &spec_yaml) {
    auto units = synth(spec_yaml);
    return *parse_unit(write_unit(units.at(0).unit)).find("Service");
}

std::string field_of_error(const std::string &spec_yaml) {
    try {
        synth(spec_yaml);
    } catch (const pods::SpecError &e) {
        return e.field();
    }
    return "no error";
}

std::string words(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &x : v) out += (out.empty() ? "" : " ") + x;
    return out;
}

const std::string kDefault = "  containers:\n  - {name: c, image: /bin/sh}\n";

}  // namespace

TEST(SandboxProfile, DefaultPodGetsTheContainerRuntimeDefaults) {
    const auto s = service_of(kDefault);
    EXPECT_EQ(s.last("CapabilityBoundingSet"), words(default_capabilities()));
    for (const char *key : {"PrivateDevices", "PrivateTmp", "ProtectKernelTunables", "ProtectKernelModules",
                            "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "RestrictSUIDSGID",
                            "LockPersonality", "RestrictRealtime", "RestrictNamespaces", "NoNewPrivileges", "PrivateIPC"})
        EXPECT_EQ(s.last(key), "yes") << key;
    EXPECT_EQ(s.last("ProtectSystem"), "strict");
    EXPECT_EQ(s.last("ProtectProc"), "invisible");
    EXPECT_EQ(s.last("SystemCallArchitectures"), "native");
    EXPECT_EQ(s.last("SystemCallFilter"), "@system-service");
    EXPECT_FALSE(s.last("AmbientCapabilities"));
    // systemk's own state, credentials and unit files are out of every pod's reach.
    const auto hidden = *s.last("InaccessiblePaths");
    for (const char *p : {"-/var/lib/systemk", "-/run/systemk", "-/etc/systemk", "-/run/systemd/system",
                          "-/etc/kubernetes/kubelet.conf", "-/etc/shadow", "-/run/dbus", "-/run/systemd/private", "-/run/initctl"})
        EXPECT_NE(hidden.find(p), std::string::npos) << p;
}

TEST(SandboxProfile, CapabilitiesAreRelativeToTheDefaultSet) {
    auto caps = [](const std::string &sc) {
        return service_of("  containers:\n  - name: c\n    image: /bin/sh\n    securityContext: " + sc + "\n")
            .last("CapabilityBoundingSet")
            .value_or("<none>");
    };
    EXPECT_EQ(caps("{capabilities: {drop: [ALL]}}"), "");
    EXPECT_EQ(caps("{capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}"), "CAP_NET_BIND_SERVICE");
    const auto without_raw = caps("{capabilities: {drop: [NET_RAW, cap_kill]}}");
    EXPECT_EQ(without_raw.find("CAP_NET_RAW"), std::string::npos);
    EXPECT_EQ(without_raw.find("CAP_KILL"), std::string::npos);
    EXPECT_NE(without_raw.find("CAP_CHOWN"), std::string::npos);
    EXPECT_NE(caps("{capabilities: {add: [SYS_TIME]}}").find("CAP_SYS_TIME"), std::string::npos);
}

TEST(SandboxProfile, UnknownCapabilityIsAPodError) {
    // systemd would ignore the misspelt name, and the drop would drop nothing.
    EXPECT_EQ(field_of_error("  containers:\n  - name: c\n    image: /bin/sh\n"
                             "    securityContext: {capabilities: {drop: [CAP_SYS_ADMINN]}}\n"),
              "spec.containers[0].securityContext.capabilities.drop[0]");
    EXPECT_EQ(field_of_error("  containers:\n  - name: c\n    image: /bin/sh\n"
                             "    securityContext: {capabilities: {add: [\"NET_ADMIN ExecStartPre=/bin/false\"]}}\n"),
              "spec.containers[0].securityContext.capabilities.add[0]");
}

TEST(SandboxProfile, PrivilegedLiftsTheProfileAndSaysSo) {
    auto units = synth("  containers:\n  - name: c\n    image: /bin/sh\n    securityContext: {privileged: true}\n");
    const auto unit = parse_unit(write_unit(units.at(0).unit));
    const auto &s = *unit.find("Service");
    EXPECT_FALSE(s.last("CapabilityBoundingSet"));
    EXPECT_FALSE(s.last("ProtectSystem"));
    EXPECT_FALSE(s.last("SystemCallFilter"));
    EXPECT_FALSE(s.last("NoNewPrivileges"));
    EXPECT_EQ(read_pod_metadata(unit).at("Privileged"), "yes");
    EXPECT_EQ(field_of_error("  containers:\n  - name: c\n    image: /bin/sh\n"
                             "    securityContext: {privileged: true, allowPrivilegeEscalation: false}\n"),
              "spec.containers[0].securityContext.allowPrivilegeEscalation");
}

TEST(SandboxProfile, SeccompEscalationAndHostNamespaces) {
    EXPECT_FALSE(service_of("  securityContext: {seccompProfile: {type: Unconfined}}\n" + kDefault).last("SystemCallFilter"));
    EXPECT_TRUE(service_of("  securityContext: {seccompProfile: {type: Unconfined}}\n  containers:\n  - name: c\n"
                           "    image: /bin/sh\n    securityContext: {seccompProfile: {type: RuntimeDefault}}\n")
                    .last("SystemCallFilter"));
    EXPECT_EQ(field_of_error("  securityContext: {seccompProfile: {type: Localhost, localhostProfile: x.json}}\n" + kDefault),
              "spec.securityContext.seccompProfile.type");
    EXPECT_FALSE(service_of("  containers:\n  - name: c\n    image: /bin/sh\n"
                            "    securityContext: {allowPrivilegeEscalation: true}\n")
                     .last("NoNewPrivileges"));
    EXPECT_FALSE(service_of("  hostIPC: true\n" + kDefault).last("PrivateIPC"));
    EXPECT_EQ(service_of("  hostPID: true\n" + kDefault).last("ProtectProc"), "default");
}

TEST(ExecLine, NoPodValueBecomesASeparatorOrPrefix) {
    // systemd unquotes the first word before it looks for ";" and for prefixes.
    EXPECT_EQ(field_of_error("  containers:\n  - {name: c, image: /bin/sh, command: [\";\", \"+/bin/sh\", \"-c\", id]}\n"),
              "spec.containers[0].command");
    for (const char *exe : {"+/bin/sh", "!/bin/sh", "-/bin/sh", "@/bin/sh", ":/bin/sh", "|/bin/sh"})
        EXPECT_EQ(field_of_error(std::string("  containers:\n  - {name: c, image: /bin/sh, command: [\"") + exe + "\"]}\n"),
                  "spec.containers[0].command")
            << exe;
    // Later words are quoted, and systemd splits only on an unquoted ";": they reach the process.
    const auto s = service_of("  containers:\n  - {name: c, image: /bin/sh, command: [/bin/echo], args: [\";\", \"+/bin/sh\", \"!x\"]}\n");
    const auto argv = split_words(*s.last("ExecStart"));
    EXPECT_EQ(argv, (std::vector<std::string>{"/bin/echo", ";", "+/bin/sh", "!x"}));
}

TEST(SecretEnvironment, NeverInTheUnitFile) {
    auto units = synth(
        "  containers:\n  - name: c\n    image: /bin/sh\n    command: [/bin/echo]\n"
        "    args: [\"--token=$(TOKEN)\", \"$(TOKEN)\", \"$(PLAIN)\", \"$$(TOKEN)\"]\n"
        "    env:\n    - name: TOKEN\n      valueFrom: {secretKeyRef: {name: s, key: token}}\n"
        "    - {name: URL, value: \"https://u:$(TOKEN)@host\"}\n"
        "    - {name: PLAIN, value: visible}\n"
        "    envFrom: [{secretRef: {name: s}, prefix: S_}]\n");
    const auto &u = units.at(0);
    const auto text = write_unit(u.unit);
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
    EXPECT_EQ(u.env_file, "/run/systemk/pods/0a1b-2c/env/c.env");
    std::map<std::string, std::string> secret(u.secret_env.begin(), u.secret_env.end());
    EXPECT_EQ(secret.at("TOKEN"), "s3cr3t-\"$x`\\\n%n");
    EXPECT_EQ(secret.at("URL"), "https://u:s3cr3t-\"$x`\\\n%n@host");
    EXPECT_EQ(secret.at("S_token"), "s3cr3t-\"$x`\\\n%n");
    EXPECT_FALSE(secret.contains("PLAIN"));
    const auto unit = parse_unit(text);
    const auto &s = *unit.find("Service");
    EXPECT_EQ(s.last("EnvironmentFile"), "/run/systemk/pods/0a1b-2c/env/c.env");
    // systemd substitutes ${TOKEN} from the environment file when it starts the process.
    EXPECT_EQ(split_words(*s.last("ExecStart")),
              (std::vector<std::string>{"/bin/echo", "--token=${TOKEN}", "${TOKEN}", "visible", "$$(TOKEN)"}));
}

TEST(SecretEnvironment, ALaterPlainValueWins) {
    auto units = synth("  containers:\n  - name: c\n    image: /bin/sh\n    env:\n"
                       "    - name: X\n      valueFrom: {secretKeyRef: {name: s, key: token}}\n    - {name: X, value: plain}\n");
    EXPECT_TRUE(units.at(0).secret_env.empty());
    EXPECT_TRUE(units.at(0).env_file.empty());
}

TEST(SecretEnvironment, ErrorsNeverCarryTheValue) {
    for (const char *command : {"[\"$(TOKEN)\"]", "[\"$(PLUS)\"]"}) {
        try {
            synth(std::string("  containers:\n  - name: c\n    image: /bin/sh\n    command: ") + command +
                  "\n    env:\n    - name: TOKEN\n      valueFrom: {secretKeyRef: {name: s, key: token}}\n"
                  "    - name: PLUS\n      valueFrom: {secretKeyRef: {name: s, key: plus}}\n");
            FAIL() << command;
        } catch (const pods::SpecError &e) {
            EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find("+/bin/sh"), std::string::npos) << e.what();
        }
    }
}

TEST(SecretEnvironment, FileLinesReadBackExactly) {
    EXPECT_EQ(environment_file_line("A", "x\"y$z`w\\v\nnext"), "A=\"x\\\"y\\$z\\`w\\\\v\nnext\"\n");
    EXPECT_THROW(environment_file_line("A", std::string("a\0b", 3)), QuotingError);
    EXPECT_THROW(environment_file_line("A B", "x"), QuotingError);
    try {
        environment_file_line("A", "secret\xff");
    } catch (const QuotingError &e) {
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
    }
}

TEST(Resources, HugeOrNegativeQuantitiesArePodErrors) {
    EXPECT_EQ(field_of_error("  containers:\n  - name: c\n    image: /bin/sh\n    resources: {limits: {memory: 1e30}}\n"),
              "spec.containers[0].resources.limits.memory");
    EXPECT_EQ(field_of_error("  containers:\n  - name: c\n    image: /bin/sh\n    resources: {requests: {cpu: '-1'}}\n"),
              "spec.containers[0].resources.requests.cpu");
    const auto s = service_of("  containers:\n  - name: c\n    image: /bin/sh\n"
                              "    resources: {limits: {memory: 64Mi, cpu: 1m}, requests: {cpu: 100m}}\n");
    EXPECT_EQ(s.last("MemoryMax"), "67108864");
    EXPECT_EQ(s.last("CPUQuota"), "1%");
    EXPECT_EQ(s.last("CPUWeight"), "4");  // shares 102 -> 1 + 100*9999/262142
}

TEST(Identity, UnknownUsersArePodErrorsWhereTheHostIsKnown) {
    pods::NodeContext n = node();
    n.user_exists = [](int64_t uid) { return uid == 33; };
    n.group_exists = [](int64_t gid) { return gid == 33; };
    static const SecretLookup lookup;
    auto run = [&](const std::string &sc) {
        const auto pod = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: u1}\nspec:\n"
                                               "  securityContext: " + sc + "\n" + kDefault).at(0).as_object();
        PodInputs in;
        in.pod = &pod;
        in.node = &n;
        in.objects = &lookup;
        ResolvedImage image;
        image.default_command = {{"/bin/sh", WordOrigin::PodSpec}};
        in.images = {{"c", image}};
        try {
            synthesize_pod_units(in);
        } catch (const pods::SpecError &e) {
            return e.field();
        }
        return std::string("ok");
    };
    EXPECT_EQ(run("{runAsUser: 33, runAsGroup: 33}"), "ok");
    EXPECT_EQ(run("{runAsUser: 0}"), "ok");
    EXPECT_EQ(run("{runAsUser: 1000}"), "spec.containers[0].securityContext.runAsUser");
    EXPECT_EQ(run("{runAsUser: 33, runAsGroup: 1000}"), "spec.containers[0].securityContext.runAsGroup");
}

TEST(Grace, ZeroStillTimesOut) {
    EXPECT_EQ(service_of("  terminationGracePeriodSeconds: 0\n" + kDefault).last("TimeoutStopSec"), "1s");
}

TEST(SecretEnvironment, CommandsExpandTheFinalValueOfAName) {
    // A secret X overridden by a plain X: $(X) is the plain value, the secret is nowhere.
    auto units = synth("  containers:\n  - name: c\n    image: /bin/sh\n    command: [/bin/echo, \"$(token)\"]\n"
                       "    envFrom: [{secretRef: {name: s}}]\n    env: [{name: token, value: plain}]\n");
    const auto text = write_unit(units.at(0).unit);
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
    EXPECT_EQ(split_words(*parse_unit(text).find("Service")->last("ExecStart")),
              (std::vector<std::string>{"/bin/echo", "plain"}));
}

TEST(PackageDirectories, TakenOverOnlyWhereTheyCannotHurtTheHost) {
    const auto pod = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: u1}\nspec:\n"
                                           "  containers:\n  - {name: c, image: daemon}\n")
                         .at(0)
                         .as_object();
    const auto pod_as_user = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: u1}\nspec:\n"
                                                   "  securityContext: {runAsUser: 33}\n  containers:\n  - {name: c, image: daemon}\n")
                                 .at(0)
                                 .as_object();
    static const SecretLookup lookup;
    auto service = [&](const boost::json::object &p, bool installed) {
        PodInputs in;
        in.pod = &p;
        in.node = &node();
        in.objects = &lookup;
        ResolvedImage image;
        image.default_command = {{"/usr/sbin/daemon", WordOrigin::Package}};
        image.installed_by_systemk = installed;
        image.writable_directives = {{"StateDirectory", "daemon"}, {"RuntimeDirectory", "daemon"}, {"ReadWritePaths", "/etc"}};
        in.images = {{"c", image}};
        return *parse_unit(write_unit(synthesize_pod_units(in).at(0).unit)).find("Service");
    };
    const auto root = service(pod, false);
    EXPECT_EQ(root.last("StateDirectory"), "daemon");
    EXPECT_EQ(root.last("RuntimeDirectoryPreserve"), "yes");  // the host's daemon may need it
    EXPECT_FALSE(root.last("ReadWritePaths"));
    // systemd would chown the host's directories to the pod's user.
    EXPECT_FALSE(service(pod_as_user, false).last("StateDirectory"));
    const auto owned = service(pod_as_user, true);
    EXPECT_EQ(owned.last("StateDirectory"), "daemon");
    EXPECT_FALSE(owned.last("RuntimeDirectoryPreserve"));
}

TEST(Identity, IdsSystemdCannotUseArePodErrors) {
    for (const char *sc : {"{runAsUser: 65535}", "{runAsUser: 4294967295}", "{runAsUser: 4294967296}",
                           "{runAsGroup: -1}", "{fsGroup: 4294967296}", "{supplementalGroups: [65535]}"})
        EXPECT_NE(field_of_error(std::string("  securityContext: ") + sc + "\n" + kDefault), "no error") << sc;
}
