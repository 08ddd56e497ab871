// A package's own unit: what a pod running it keeps, and that nothing kept weakens systemk's
// sandbox or lets the pod's values be overridden.
#include <gtest/gtest.h>

#include "pods/spec_error.h"
#include "pods/yaml_to_json.h"
#include "units/package_unit.h"
#include "units/synthesis.h"
#include "units/unit_file.h"

using namespace systemk;
using namespace systemk::units;

namespace {

const char *kPackageUnit = R"([Unit]
Description=a daemon
[Service]
Type=forking
PIDFile=/run/daemon.pid
ExecStartPre=+/usr/sbin/daemon --check
ExecStartPre=!!/usr/sbin/daemon --prepare
ExecStart=/usr/sbin/daemon --flag
ExecReload=-/bin/kill -HUP $MAINPID
User=daemon
Group=daemon
Environment=GREETING=from-package MODE=package
EnvironmentFile=-/etc/default/daemon
WorkingDirectory=/var/lib/daemon
StateDirectory=daemon
PrivateTmp=yes
ProtectHome=no
NoNewPrivileges=false
ProtectSystem=no
CapabilityBoundingSet=CAP_SYS_ADMIN
SystemCallFilter=@mount
[Install]
WantedBy=multi-user.target
)";

Directives pairs(std::initializer_list<std::pair<const char *, const char *>> list) {
    Directives out;
    for (const auto &[k, v] : list) out.emplace_back(k, v);
    return out;
}

struct Rendered {
    UnitFile unit;
    PodUnit pod_unit;
};

Rendered render(const std::string &container_fields, bool init = false, const char *package_unit = kPackageUnit) {
    static pods::NodeContext node = [] {
        pods::NodeContext n;
        n.node_name = "node1";
        return n;
    }();
    static const pods::OfflineLookup offline;
    const auto pod = pods::parse_manifests(std::string("kind: Pod\nmetadata: {name: p, uid: u-1}\nspec:\n  ") +
                                        (init ? "initContainers" : "containers") + ":\n  - name: c\n    image: daemon\n" +
                                        container_fields + (init ? "  containers:\n  - {name: x, image: /bin/true}\n" : ""))
                         .at(0)
                         .as_object();
    ResolvedImage image;
    image.resolver = "pkg-apt";
    image.package = "daemon";
    image.installed_by_systemk = true;
    const auto unit = parse_unit(package_unit);
    image.default_command = exec_start_of_package_unit(unit);
    image.writable_directives = writable_directives_of_package_unit(unit);
    image.package_settings = settings_of_package_unit(unit);
    image.data_directories = {"/var/spool/daemon", "/var/lib/systemk", "/var/../etc"};
    ResolvedImage other;
    other.resolver = "pkg-path";
    other.default_command = {{"/bin/true", WordOrigin::PodSpec}};
    PodInputs in;
    in.pod = &pod;
    in.node = &node;
    in.objects = &offline;
    in.images = {{"c", image}, {"x", other}};
    auto units = synthesize_pod_units(in);
    for (auto &u : units)
        if (u.container == "c") return {parse_unit(write_unit(u.unit)), u};
    throw std::runtime_error("no unit for c");
}

}  // namespace

TEST(PackageUnit, KeepsWhatMakesTheDaemonWorkAndNothingThatLiftsTheSandbox) {
    const auto s = settings_of_package_unit(parse_unit(kPackageUnit));
    EXPECT_EQ(s.process, pairs({{"Type", "forking"},
                                {"PIDFile", "/run/daemon.pid"},
                                {"ExecStartPre", "/usr/sbin/daemon --check"},
                                {"ExecStartPre", "/usr/sbin/daemon --prepare"},
                                {"ExecReload", "-/bin/kill -HUP $MAINPID"}}));
    EXPECT_EQ(s.identity, pairs({{"User", "daemon"}, {"Group", "daemon"}}));
    EXPECT_EQ(s.environment,
              pairs({{"Environment", "GREETING=from-package MODE=package"}, {"EnvironmentFile", "-/etc/default/daemon"}}));
    EXPECT_EQ(s.working_directory, pairs({{"WorkingDirectory", "/var/lib/daemon"}}));
    // ProtectHome=no, NoNewPrivileges=false, ProtectSystem=, capabilities and filters: never.
    EXPECT_EQ(s.hardening, pairs({{"PrivateTmp", "yes"}}));
}

TEST(PackageUnit, ThePodRunsTheDaemonAsItsPackagerIntended) {
    const auto r = render("");
    const auto &service = *r.unit.find("Service");
    EXPECT_EQ(service.last("Type"), "forking");
    EXPECT_EQ(service.last("PIDFile"), "/run/daemon.pid");
    EXPECT_EQ(service.values("ExecStartPre"),
              (std::vector<std::string>{"/usr/sbin/daemon --check", "/usr/sbin/daemon --prepare"}));
    EXPECT_EQ(service.last("ExecReload"), "-/bin/kill -HUP $MAINPID");
    EXPECT_EQ(service.last("User"), "daemon");
    EXPECT_EQ(service.last("Group"), "daemon");
    EXPECT_EQ(service.last("WorkingDirectory"), "/var/lib/daemon");
    EXPECT_EQ(service.last("StateDirectory"), "daemon");
    // systemk's sandbox stays whatever the package says.
    EXPECT_EQ(service.last("ProtectSystem"), "strict");
    EXPECT_EQ(service.last("ProtectHome"), "yes");
    EXPECT_EQ(service.last("NoNewPrivileges"), "yes");
    EXPECT_NE(service.last("InaccessiblePaths")->find("/etc/shadow"), std::string::npos);
    for (const auto &v : service.values("CapabilityBoundingSet")) EXPECT_EQ(v.find("CAP_SYS_ADMIN"), std::string::npos);
    for (const auto &v : service.values("SystemCallFilter")) EXPECT_EQ(v.find("@mount"), std::string::npos);
}

TEST(PackageUnit, ThePodSpecWins) {
    const auto r = render(
        "    command: [/bin/other]\n    workingDir: /tmp\n    env: [{name: MODE, value: pod}]\n"
        "    securityContext: {runAsUser: 1234}\n");
    const auto &service = *r.unit.find("Service");
    // Its own command: the package's Type= and Exec*= hooks do not apply.
    EXPECT_EQ(service.last("Type"), "exec");
    EXPECT_TRUE(service.values("ExecStartPre").empty());
    EXPECT_TRUE(service.values("PIDFile").empty());
    EXPECT_EQ(service.last("User"), "1234");
    EXPECT_TRUE(service.values("Group").empty() || service.last("Group") != "daemon");
    EXPECT_EQ(service.last("WorkingDirectory"), "/tmp");
    // The package's EnvironmentFile= would override Environment=: the pod's value goes to its
    // own file, listed after the package's, so it wins.
    const auto files = service.values("EnvironmentFile");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0], "-/etc/default/daemon");
    bool mode_in_file = false;
    for (const auto &kv : r.pod_unit.secret_env) mode_in_file = mode_in_file || kv == std::pair<std::string, std::string>{"MODE", "pod"};
    EXPECT_TRUE(mode_in_file);
    EXPECT_EQ(service.values("Environment").size(), 1u);  // only the package's line
}

TEST(PackageUnit, InitContainersKeepOneshot) {
    const auto r = render("", true);
    EXPECT_EQ(r.unit.find("Service")->last("Type"), "oneshot");
    EXPECT_TRUE(r.unit.find("Service")->values("ExecStartPre").empty());
}

TEST(PackageUnit, AControlCharacterIsRefused) {
    UnitFile unit;
    unit.section("Service").add("Environment", std::string("A=1\x01"));
    EXPECT_THROW(settings_of_package_unit(unit), QuotingError);
}

TEST(PackageUnit, APackageSystemkInstalledMayWriteItsDataDirectoriesOnly) {
    const auto r = render("");
    // Its own spool, never systemk's state or anything outside /var.
    EXPECT_EQ(r.unit.find("Service")->values("ReadWritePaths"), (std::vector<std::string>{"-/var/spool/daemon"}));
}

TEST(PackageUnit, ADBusServiceIsRefusedWithAReason) {
    // Pods cannot reach the system bus, so Type=dbus would never finish starting.
    const char *dbus_unit = "[Service]\nType=dbus\nBusName=org.example.Daemon\nExecStart=/usr/sbin/daemon\n";
    try {
        render("", false, dbus_unit);
        FAIL() << "a Type=dbus package unit was accepted";
    } catch (const pods::SpecError &e) {
        EXPECT_NE(std::string(e.what()).find("Type=dbus"), std::string::npos) << e.what();
    }
    // With a command of its own the container runs without the unit's process settings.
    EXPECT_EQ(render("    command: [/usr/sbin/daemon]\n", false, dbus_unit).unit.find("Service")->last("Type"), "exec");
}
