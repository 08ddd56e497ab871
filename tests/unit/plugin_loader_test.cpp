// Which plugin files the loader opens: disabled plugins never, and (as sshd's StrictModes) only
// files that root or the agent owns and nobody else can write, in directories nobody else can
// write. Each test builds a scratch plugin directory with copies of the fixture plugins.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "plugins/plugin_file_policy.h"
#include "plugins/plugin_loader.h"

using namespace systemk::plugins;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string &name) {
    return fs::path(SYSTEMK_FIXTURE_PLUGIN_DIR) / name / ("fixture-" + name + ".so");
}

class LogCapture {
public:
    LogCapture() : previous_(spdlog::default_logger()) {
        auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
        logger->set_pattern("%v");
        logger->set_level(spdlog::level::debug);
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    std::string text() const { return out_.str(); }
    long lines() const {
        const auto t = text();
        return std::count(t.begin(), t.end(), '\n');
    }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

// A scratch directory under the temporary directory (root-owned and sticky, which the policy
// accepts as an ancestor), removed afterwards.
class PluginLoaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "systemk-plugin-loader-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
        dir_ = root_ / "plugins";
        fs::create_directory(dir_);
        fs::permissions(dir_, kDirMode);
    }
    void TearDown() override {
        unsetenv("SYSTEMK_FIXTURE_MARKER");
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    // A copy of fixture `name` in `dir` as `file_name`, mode 0755.
    fs::path install(const std::string &name, const fs::path &dir, const std::string &file_name = {}) {
        const auto to = dir / (file_name.empty() ? "fixture-" + name + ".so" : file_name);
        fs::copy_file(fixture(name), to, fs::copy_options::overwrite_existing);
        fs::permissions(to, kFileMode);
        return to;
    }
    static void require_root() {
        if (geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
    }

    static constexpr fs::perms kDirMode = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec;
    static constexpr fs::perms kFileMode = kDirMode;
    fs::path root_, dir_;
};

}  // namespace

TEST(PluginFileName, GivesThePluginName) {
    EXPECT_EQ(plugin_name_from_file("/x/pkg-apt.so"), "pkg-apt");
    EXPECT_EQ(plugin_name_from_file("/x/libsystemk-pkg-apt.so"), "pkg-apt");
    EXPECT_EQ(plugin_name_from_file("pkg-url.so"), "pkg-url");
    EXPECT_EQ(plugin_name_from_file("/x/.so"), std::nullopt);
    EXPECT_EQ(plugin_name_from_file("/x/libsystemk-.so"), std::nullopt);
    EXPECT_EQ(plugin_name_from_file("/x/Pkg_Apt.so"), std::nullopt);
    EXPECT_EQ(plugin_name_from_file("/x/pkg-apt.so.1"), std::nullopt);
    EXPECT_EQ(plugin_name_from_file("/x/pkg-apt"), std::nullopt);
    EXPECT_EQ(plugin_name_from_file("/x/" + std::string(65, 'a') + ".so"), std::nullopt);
}

TEST_F(PluginLoaderTest, ACleanCopyLoads) {
    PluginRegistry registry;
    EXPECT_TRUE(registry.load_file(install("ok", dir_), {}));
}

TEST_F(PluginLoaderTest, DisabledPluginIsNeverOpened) {
    const auto marker = root_ / "constructor-ran";
    setenv("SYSTEMK_FIXTURE_MARKER", marker.c_str(), 1);
    const auto file = install("constructor", dir_);
    LoadOptions disabled;
    disabled.disabled.insert("fixture-constructor");
    {
        LogCapture log;
        PluginRegistry registry;
        EXPECT_FALSE(registry.load_file(file, disabled));
        registry.load_directory(dir_, disabled);
        EXPECT_TRUE(registry.plugins().empty());
        EXPECT_NE(log.text().find("plugin=fixture-constructor file=" + file.string() + " disabled by configuration; not opened"),
                  std::string::npos)
            << log.text();
    }
    EXPECT_FALSE(fs::exists(marker)) << "the disabled plugin's constructor ran";
    // The same file, not disabled, is opened: the marker proves the check above can fail.
    PluginRegistry registry;
    EXPECT_TRUE(registry.load_file(file, {}));
    EXPECT_TRUE(fs::exists(marker));
}

TEST_F(PluginLoaderTest, FileNameWithoutAPluginNameIsNeverOpened) {
    const auto marker = root_ / "constructor-ran";
    setenv("SYSTEMK_FIXTURE_MARKER", marker.c_str(), 1);
    const auto file = install("constructor", dir_, "Fixture_Constructor.so");
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(file, {}));
    EXPECT_FALSE(fs::exists(marker));
    EXPECT_NE(log.text().find("file=" + file.string() + " refused: its name is not <name>.so"), std::string::npos) << log.text();
}

TEST_F(PluginLoaderTest, DescriptorNameMustMatchTheFileName) {
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(install("ok", dir_, "other-name.so"), {}));
    EXPECT_EQ(log.lines(), 1) << log.text();
    EXPECT_NE(log.text().find("refused: it declares the name fixture-ok but its file name gives other-name"), std::string::npos)
        << log.text();
    // A distribution's prefix is not part of the name.
    EXPECT_TRUE(registry.load_file(install("ok", dir_, "libsystemk-fixture-ok.so"), {}));
    EXPECT_EQ(registry.plugins().at(0)->name(), "fixture-ok");
}

TEST_F(PluginLoaderTest, GroupWritableFileIsRefused) {
    const auto file = install("ok", dir_);
    fs::permissions(file, fs::perms::group_write, fs::perm_options::add);
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(file, {}));
    EXPECT_EQ(log.lines(), 1) << log.text();
    EXPECT_NE(log.text().find("plugin=fixture-ok file=" + file.string() + " refused: it is writable by its group (mode 0775)"),
              std::string::npos)
        << log.text();
}

TEST_F(PluginLoaderTest, WorldWritableFileIsRefused) {
    const auto file = install("ok", dir_);
    fs::permissions(file, fs::perms::others_write, fs::perm_options::add);
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(file, {}));
    EXPECT_NE(log.text().find("refused: it is writable by others (mode 0757)"), std::string::npos) << log.text();
}

TEST_F(PluginLoaderTest, WorldWritableDirectoryIsRefusedEvenWhenSticky) {
    const auto file = install("ok", dir_);
    fs::permissions(dir_, fs::perms::others_write | fs::perms::sticky_bit, fs::perm_options::add);
    LogCapture log;
    PluginRegistry registry;
    registry.load_directory(dir_, {});
    EXPECT_TRUE(registry.plugins().empty());
    EXPECT_EQ(log.lines(), 1) << log.text();
    EXPECT_NE(log.text().find("file=" + file.string() + " refused: directory " + dir_.string() + " is writable by others (mode 1757)"),
              std::string::npos)
        << log.text();
}

TEST_F(PluginLoaderTest, WritableAncestorIsRefusedUnlessSticky) {
    const auto file = install("ok", dir_);
    fs::permissions(root_, fs::perms::group_write, fs::perm_options::add);
    {
        LogCapture log;
        PluginRegistry registry;
        EXPECT_FALSE(registry.load_file(file, {}));
        EXPECT_NE(log.text().find("refused: directory " + root_.string() + " is writable by its group"), std::string::npos)
            << log.text();
    }
    // Like /tmp: others can write, but only an entry's owner can replace it.
    fs::permissions(root_, fs::perms::others_write | fs::perms::sticky_bit, fs::perm_options::add);
    PluginRegistry registry;
    EXPECT_TRUE(registry.load_file(file, {}));
}

TEST_F(PluginLoaderTest, FileOwnedByAnotherUserIsRefused) {
    require_root();
    const auto file = install("ok", dir_);
    ASSERT_EQ(chown(file.c_str(), 12345, 0), 0);
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(file, {}));
    EXPECT_EQ(log.lines(), 1) << log.text();
    EXPECT_NE(log.text().find("file=" + file.string() + " refused: it is owned by uid 12345, not root"), std::string::npos)
        << log.text();
}

TEST_F(PluginLoaderTest, DirectoryOwnedByAnotherUserIsRefused) {
    require_root();
    const auto file = install("ok", dir_);
    ASSERT_EQ(chown(dir_.c_str(), 12345, 0), 0);
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(file, {}));
    EXPECT_NE(log.text().find("refused: directory " + dir_.string() + " is owned by uid 12345, not root"), std::string::npos)
        << log.text();
}

TEST_F(PluginLoaderTest, SymlinkIsJudgedByItsTarget) {
    const auto elsewhere = root_ / "elsewhere";
    fs::create_directory(elsewhere);
    fs::permissions(elsewhere, kDirMode);
    const auto target = install("ok", elsewhere);
    const auto link = dir_ / "fixture-ok.so";
    fs::create_symlink(target, link);
    fs::permissions(elsewhere, fs::perms::others_write, fs::perm_options::add);
    {
        LogCapture log;
        PluginRegistry registry;
        EXPECT_FALSE(registry.load_file(link, {}));
        EXPECT_NE(log.text().find("refused: directory " + elsewhere.string() + " is writable by others"), std::string::npos)
            << log.text();
    }
    fs::permissions(elsewhere, fs::perms::others_write, fs::perm_options::remove);
    fs::permissions(target, fs::perms::group_write, fs::perm_options::add);
    {
        LogCapture log;
        PluginRegistry registry;
        EXPECT_FALSE(registry.load_file(link, {}));
        EXPECT_NE(log.text().find("refused: its target " + target.string() + " is writable by its group"), std::string::npos)
            << log.text();
    }
    fs::permissions(target, fs::perms::group_write, fs::perm_options::remove);
    PluginRegistry registry;
    EXPECT_TRUE(registry.load_file(link, {}));
}
