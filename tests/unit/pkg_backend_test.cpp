// The package plugins' fronts load their heavy libraries (libapt-pkg, librpm, libalpm) from a
// backend shared object on first use only, and a backend that cannot be loaded is a clear
// error on the call, never a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "plugins/plugin_loader.h"

namespace fs = std::filesystem;
using systemk::plugins::PluginCallError;
using systemk::plugins::PluginRegistry;

namespace {

const std::string kFixtures = std::string(SYSTEMK_SOURCE_DIR) + "/tests/fixtures";

bool mapped(const std::string &file_name) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find(file_name) != std::string::npos) return true;
    return false;
}

systemk::plugins::LoadOptions apt_options() {
    systemk::plugins::LoadOptions options;
    options.config["pkg-apt.admindir"] = kFixtures + "/dpkg";
    options.config["pkg-apt.root"] = kFixtures + "/root";
    // Roots without an rpmdb or pacman database, whatever this machine has.
    options.config["pkg-rpm.root"] = kFixtures + "/root";
    options.config["pkg-pacman.root"] = kFixtures + "/root";
    return options;
}

// Whether a library is mapped says something only in a process that has not loaded it yet:
// ctest runs every test in a process of its own; a run of the whole binary (where another test
// may have loaded a backend) runs this test again in a fresh process.
bool rerun_in_fresh_process(const std::string &test_name) {
    if (!mapped("/backends/libsystemk-")) return false;
    const pid_t pid = fork();
    if (pid == 0) {
        const std::string filter = "--gtest_filter=" + test_name;
        execl("/proc/self/exe", "systemk_unit_tests", filter.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test_name << " failed in a fresh process";
    return true;
}

}  // namespace

TEST(PkgBackends, FrontsLoadAndClaimWithoutTheirHeavyLibraries) {
    if (rerun_in_fresh_process("PkgBackends.FrontsLoadAndClaimWithoutTheirHeavyLibraries")) return;
    PluginRegistry registry;
    auto options = apt_options();
    for (const char *p : {"pkg-apt", "pkg-url", "pkg-rpm", "pkg-pacman"})
        ASSERT_TRUE(registry.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / (std::string(p) + ".so"), options)) << p;
    const auto *apt = registry.resolver_for("dbus");
    ASSERT_NE(apt, nullptr);
    EXPECT_EQ(apt->name(), "pkg-apt");
    EXPECT_EQ(registry.resolver_for("https://example.org/pool/hello_1.0_amd64.deb")->name(), "pkg-url");
    EXPECT_EQ(registry.resolver_for("/srv/hello-1.0-1.x86_64.rpm")->name(), "pkg-rpm");
    EXPECT_EQ(registry.resolver_for("/srv/hello-1.0-1-x86_64.pkg.tar.zst")->name(), "pkg-pacman");
    for (const char *library : {"libsystemk-apt-backend", "libsystemk-rpm-backend", "libsystemk-alpm-backend",
                                "libapt-pkg", "librpm", "libalpm"})
        EXPECT_FALSE(mapped(library)) << library << " is mapped although no call needed it";
}

TEST(PkgBackends, TheAptBackendIsLoadedByTheFirstResolve) {
    PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / "pkg-apt.so", apt_options()));
    const auto *apt = registry.resolver_for("dbus");
    ASSERT_NE(apt, nullptr);
    const auto result = apt->resolve(boost::json::object{{"image", "dbus"}, {"dryRun", true}});
    EXPECT_EQ(result.at("version").as_string(), "1.14.10-1~deb12u1") << result;
    EXPECT_TRUE(mapped("/backends/libsystemk-apt-backend.so"));
    EXPECT_TRUE(mapped("libapt-pkg"));
}

namespace {

// A plugin directory of its own holding a copy of one front, and a backends/ directory the
// test spoils.
class BrokenBackend : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root: file ownership is part of the check";
        dir_ = fs::temp_directory_path() / ("systemk-backend-test-" + std::to_string(getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "backends");
        fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
        fs::permissions(dir_ / "backends", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                               fs::perms::others_read | fs::perms::others_exec);
        for (const char *p : {"pkg-apt.so", "pkg-rpm.so"}) fs::copy_file(fs::path(SYSTEMK_PLUGIN_DIR) / p, dir_ / p);
        auto options = apt_options();
        options.config["pkg-rpm.root"] = dir_.string();
        for (const char *p : {"pkg-apt.so", "pkg-rpm.so"}) ASSERT_TRUE(registry_.load_file(dir_ / p, options)) << p;
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    std::string apt_error() {
        const auto *apt = registry_.resolver_for("dbus");  // claim() works without the backend
        EXPECT_NE(apt, nullptr);
        if (!apt) return "no resolver";
        try {
            apt->resolve(boost::json::object{{"image", "dbus"}, {"dryRun", true}});
        } catch (const PluginCallError &e) {
            EXPECT_EQ(e.status(), SYSTEMK_ERR_INTERNAL);
            return e.what();
        }
        return "no error";
    }
    std::string backend(const char *file) const { return (dir_ / "backends" / file).string(); }
    fs::path dir_;
    PluginRegistry registry_;
};

}  // namespace

TEST_F(BrokenBackend, AMissingBackendIsAClearErrorOnTheCall) {
    const auto error = apt_error();
    EXPECT_NE(error.find("cannot load " + backend("libsystemk-apt-backend.so") + ": "), std::string::npos) << error;
    EXPECT_NE(error.find("No such file"), std::string::npos) << error;

    // pkg-rpm reaches its backend once the package file is there to read.
    std::ofstream(dir_ / "hello-1.0-1.x86_64.rpm") << "not really";
    const auto *rpm = registry_.resolver_for((dir_ / "hello-1.0-1.x86_64.rpm").string());
    ASSERT_NE(rpm, nullptr);
    try {
        rpm->resolve(boost::json::object{{"image", (dir_ / "hello-1.0-1.x86_64.rpm").string()}, {"dryRun", true}});
        ADD_FAILURE() << "resolved without its backend";
    } catch (const PluginCallError &e) {
        EXPECT_EQ(e.status(), SYSTEMK_ERR_INTERNAL);
        EXPECT_NE(std::string(e.what()).find("cannot load " + backend("libsystemk-rpm-backend.so") + ": "), std::string::npos)
            << e.what();
    }
}

TEST_F(BrokenBackend, AWritableBackendIsRefused) {
    fs::copy_file(fs::path(SYSTEMK_PLUGIN_DIR) / "backends/libsystemk-apt-backend.so", backend("libsystemk-apt-backend.so"));
    fs::permissions(backend("libsystemk-apt-backend.so"), fs::perms::others_write, fs::perm_options::add);
    const auto error = apt_error();
    EXPECT_NE(error.find("cannot load " + backend("libsystemk-apt-backend.so") + ": it is writable by others"),
              std::string::npos)
        << error;
}

TEST_F(BrokenBackend, ASymlinkedBackendIsRefused) {
    fs::create_symlink(fs::path(SYSTEMK_PLUGIN_DIR) / "backends/libsystemk-apt-backend.so", backend("libsystemk-apt-backend.so"));
    const auto error = apt_error();
    EXPECT_NE(error.find("it is a symbolic link"), std::string::npos) << error;
}

TEST_F(BrokenBackend, ABackendThatIsNoLibraryIsAClearError) {
    std::ofstream(backend("libsystemk-apt-backend.so")) << "not an ELF file";
    const auto error = apt_error();
    EXPECT_NE(error.find("cannot load " + backend("libsystemk-apt-backend.so") + ": "), std::string::npos) << error;
    // The second call reports it again (the admin may have repaired the file meanwhile).
    EXPECT_EQ(apt_error(), error);
}
