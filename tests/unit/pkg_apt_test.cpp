// pkg-apt: its pure decisions (names, which unit), the policy-rc.d guard, and the plugin itself
// through libapt-pkg against the fixture dpkg database (dry runs: nothing is installed here;
// installing is shown by the e2e cases in the systemd node).
#include <gtest/gtest.h>

#include <new>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "../../plugins/pkg-apt/package_choice.h"
#include "../../plugins/pkg-apt/start_policy.h"
#include "plugins/plugin_loader.h"

using namespace pkg_apt;
namespace fs = std::filesystem;

TEST(PkgAptNames, NameAndPinnedVersion) {
    EXPECT_EQ(parse_package("uptimed")->name, "uptimed");
    EXPECT_EQ(parse_package("uptimed")->version, "");
    const auto pinned = parse_package("uptimed:1:0.4.6-3+b1");
    ASSERT_TRUE(pinned);
    EXPECT_EQ(pinned->name, "uptimed");
    EXPECT_EQ(pinned->version, "1:0.4.6-3+b1");
    EXPECT_FALSE(parse_package("Uptimed"));
    EXPECT_FALSE(parse_package("x"));
    EXPECT_FALSE(parse_package("uptimed:"));
    EXPECT_FALSE(parse_package("uptimed:latest"));  // a Debian version starts with a digit
    EXPECT_FALSE(parse_package("a b"));
}

TEST(PkgAptUnits, TheOneNamedAfterThePackageWins) {
    const auto c = choose_service_unit("dbus", {"/lib/systemd/system/a.service", "/lib/systemd/system/dbus.service",
                                                "/lib/systemd/system/dbus.socket"});
    EXPECT_EQ(c.path, "/lib/systemd/system/dbus.service");
    EXPECT_FALSE(c.ambiguous);
}

TEST(PkgAptUnits, ElseTheOnlyServiceTemplatesAside) {
    const auto c = choose_service_unit("prometheus-node-exporter",
                                       {"/usr/bin/x", "/usr/lib/systemd/system/node-exporter.service",
                                        "/usr/lib/systemd/system/getty@.service", "/etc/systemd/system/other.service"});
    EXPECT_EQ(c.path, "/usr/lib/systemd/system/node-exporter.service");
}

TEST(PkgAptUnits, SeveralWithoutTheNameAreAmbiguousAndNamed) {
    const auto c = choose_service_unit("suite", {"/lib/systemd/system/a.service", "/lib/systemd/system/b.service",
                                                 "/usr/lib/systemd/system/a.service"});
    EXPECT_TRUE(c.ambiguous);
    EXPECT_EQ(c.path, "");
    EXPECT_EQ(c.candidates.size(), 2u);  // a.service under /lib and /usr/lib is one unit
}

TEST(PkgAptUnits, NoServiceIsNoUnit) {
    const auto c = choose_service_unit("bash", {"/bin/bash", "/usr/share/doc/bash"});
    EXPECT_EQ(c.path, "");
    EXPECT_FALSE(c.ambiguous);
}

TEST(PkgAptUnits, EverythingThatCanActivateIsMasked) {
    EXPECT_EQ(activating_units({"/lib/systemd/system/x.service", "/lib/systemd/system/x.socket",
                                "/lib/systemd/system/x@.service", "/lib/systemd/system/x.timer",
                                "/usr/lib/systemd/system/x.service", "/lib/systemd/system/x.conf", "/usr/sbin/x"}),
              (std::vector<std::string>{"x.service", "x.socket", "x@.service", "x.timer"}));
}

TEST(PkgAptUnits, DataDirectoriesAreThePackagesOwnTopMostOnes) {
    const std::set<std::string> dirs = {"/var/spool/uptimed", "/var/lib/prometheus", "/var/lib/prometheus/node-exporter",
                                        "/var/log", "/var/lib"};
    auto is_dir = [&](const std::string &p) { return dirs.contains(p); };
    EXPECT_EQ(data_directories({"/.", "/var", "/var/lib", "/var/log", "/var/spool/uptimed", "/var/spool/uptimed/x",
                                "/var/lib/prometheus", "/var/lib/prometheus/node-exporter", "/var/lib/file",
                                "/var/lib/../etc", "/usr/sbin"},
                               is_dir),
              (std::vector<std::string>{"/var/spool/uptimed", "/var/lib/prometheus"}));
}

namespace {

std::string read(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct TempRoot {
    fs::path dir = fs::temp_directory_path() / ("pkg-apt-test-" + std::to_string(getpid()));
    TempRoot() { fs::create_directories(dir / "usr/sbin"); }
    ~TempRoot() { fs::remove_all(dir); }
};

}  // namespace

TEST(PkgAptStartPolicy, ForbidsStartsDuringTheTransactionOnly) {
    TempRoot root;
    const auto policy = root.dir / "usr/sbin/policy-rc.d";
    {
        StartsForbidden guard(root.dir.string());
        EXPECT_NE(read(policy).find("exit 101"), std::string::npos);
        struct stat st {};
        ASSERT_EQ(stat(policy.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0755u);
    }
    EXPECT_FALSE(fs::exists(policy));
}

TEST(PkgAptStartPolicy, TheAdminsPolicyComesBackEvenAfterACrash) {
    TempRoot root;
    const auto policy = root.dir / "usr/sbin/policy-rc.d";
    std::ofstream(policy) << "#!/bin/sh\nexit 0\n";
    {
        StartsForbidden guard(root.dir.string());
        EXPECT_NE(read(policy).find("exit 101"), std::string::npos);
    }
    EXPECT_EQ(read(policy), "#!/bin/sh\nexit 0\n");
    // A crash mid-transaction leaves ours in place and the admin's aside: recovery swaps back.
    // Never destroyed, as if the process died; in static storage, so that leak checking (ASan)
    // sees it as reachable rather than lost.
    alignas(StartsForbidden) static unsigned char crashed[sizeof(StartsForbidden)];
    new (crashed) StartsForbidden(root.dir.string());
    StartsForbidden::recover(root.dir.string());
    EXPECT_EQ(read(policy), "#!/bin/sh\nexit 0\n");
    EXPECT_FALSE(fs::exists(root.dir / "usr/sbin/policy-rc.d.systemk-saved"));
}

namespace {

class PkgAptPlugin : public ::testing::Test {
protected:
    void SetUp() override {
        systemk::plugins::LoadOptions options;
        options.config["pkg-apt.admindir"] = std::string(SYSTEMK_SOURCE_DIR) + "/tests/fixtures/dpkg";
        options.config["pkg-apt.root"] = std::string(SYSTEMK_SOURCE_DIR) + "/tests/fixtures/root";
        ASSERT_TRUE(registry.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / "pkg-apt.so", options));
        plugin = registry.resolver_for("dbus");
        ASSERT_NE(plugin, nullptr);
        ASSERT_EQ(plugin->name(), "pkg-apt");
    }
    boost::json::value dry(const std::string &image) {
        return plugin->resolve(boost::json::object{{"image", image}, {"dryRun", true}});
    }
    std::string error_of(const std::string &image) {
        try {
            dry(image);
        } catch (const systemk::plugins::PluginCallError &e) {
            return e.what();
        }
        return "no error";
    }
    systemk::plugins::PluginRegistry registry;
    const systemk::plugins::Plugin *plugin = nullptr;
};

}  // namespace

TEST_F(PkgAptPlugin, InstalledPackageGivesItsVersionAndUnit) {
    const auto r = dry("dbus").as_object();
    EXPECT_EQ(r.at("package").as_string(), "dbus");
    EXPECT_EQ(r.at("version").as_string(), "1.14.10-1~deb12u1");
    EXPECT_EQ(r.at("present").as_bool(), true);
    EXPECT_EQ(r.at("unit").at("name").as_string(), "dbus.service");
    EXPECT_EQ(r.at("unit").at("path").as_string(),
              std::string(SYSTEMK_SOURCE_DIR) + "/tests/fixtures/root/lib/systemd/system/dbus.service");
}

TEST_F(PkgAptPlugin, VersionsCompareAsDebianVersionsNotText) {
    // The same version spelt with an explicit zero epoch: equal for dpkg, different as text.
    EXPECT_EQ(dry("dbus:0:1.14.10-1~deb12u1").at("version").as_string(), "1.14.10-1~deb12u1");
}

TEST_F(PkgAptPlugin, UnknownPinnedVersionIsAClearError) {
    const auto e = error_of("dbus:0.0.0");
    EXPECT_NE(e.find("package dbus has no version 0.0.0 (available: 1.14.10-1~deb12u1)"), std::string::npos) << e;
}

TEST_F(PkgAptPlugin, UnknownPackageIsAClearError) {
    EXPECT_NE(error_of("no-such-package").find("package no-such-package is not known to apt"), std::string::npos);
    // Removed with its configuration left: not installed, and nothing to install it from.
    EXPECT_NE(error_of("removed-package").find("removed-package"), std::string::npos);
}
