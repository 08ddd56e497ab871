#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <set>
#include <sstream>

#include "plugins/plugin_loader.h"

using namespace systemk::plugins;

namespace {

std::filesystem::path fixture(const std::string &name) {
    return std::filesystem::path(SYSTEMK_FIXTURE_PLUGIN_DIR) / name / ("fixture-" + name + ".so");
}

// Captures what the loader logs during one test.
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

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST(PluginAbi, CurrentPluginLoadsAndWorks) {
    LogCapture log;
    PluginRegistry registry;
    LoadOptions options;
    options.config["fixture-ok.greeting"] = "hello";
    options.config["other-plugin.greeting"] = "not visible";
    ASSERT_TRUE(registry.load_file(fixture("ok"), options));
    const auto *p = registry.resolver_for("fixture:thing");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->name(), "fixture-ok");
    EXPECT_EQ(p->version(), "1.2.3");
    EXPECT_EQ(p->abi(), std::to_string(SYSTEMK_ABI_MAJOR) + "." + std::to_string(SYSTEMK_ABI_MINOR));
    const auto result = p->resolve(boost::json::object{{"image", "fixture:thing"}});
    EXPECT_EQ(result.at("execStart").at(1).as_string(), "hello");
    EXPECT_NE(log.text().find("plugin=fixture-ok resolving"), std::string::npos);
    EXPECT_EQ(registry.resolver_for("other"), nullptr);
}

TEST(PluginAbi, OlderMinorIsAccepted) {
    PluginRegistry registry(AbiVersion{SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR + 3});
    EXPECT_TRUE(registry.load_file(fixture("ok"), {}));
}

TEST(PluginAbi, NewerMinorIsRefusedNamingFileAndVersions) {
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(fixture("newer-minor"), {}));
    const auto line = log.text();
    EXPECT_NE(line.find(fixture("newer-minor").string()), std::string::npos) << line;
    EXPECT_NE(line.find("plugin ABI 1.1"), std::string::npos) << line;
    EXPECT_NE(line.find("host ABI 1.0"), std::string::npos) << line;
    EXPECT_TRUE(registry.plugins().empty());
}

TEST(PluginAbi, OtherMajorIsRefused) {
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(fixture("other-major"), {}));
    EXPECT_NE(log.text().find("plugin ABI 2.0 is incompatible with host ABI 1.0"), std::string::npos) << log.text();
}

TEST(PluginAbi, MissingEntrySymbolIsRefused) {
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(fixture("no-entry"), {}));
    EXPECT_NE(log.text().find("no systemk_plugin_entry symbol"), std::string::npos) << log.text();
}

TEST(PluginAbi, WrongKindIsRefused) {
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file(fixture("wrong-kind"), {}));
    EXPECT_NE(log.text().find("unknown kind 99"), std::string::npos) << log.text();
    EXPECT_FALSE(registry.load_file(fixture("no-table"), {}));
    EXPECT_NE(log.text().find("has no resolver table"), std::string::npos) << log.text();
}

TEST(PluginAbi, ThrowingCallIsAnErrorAndTheHostCarriesOn) {
    PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(fixture("throws"), {}));
    ASSERT_TRUE(registry.load_file(fixture("ok"), {}));
    const auto &throwing = *registry.plugins().at(0);
    try {
        throwing.resolve(boost::json::object{{"image", "fixture:x"}});
        FAIL();
    } catch (const PluginCallError &e) {
        EXPECT_EQ(e.status(), SYSTEMK_ERR_INTERNAL);
        EXPECT_NE(std::string(e.what()).find("threw an exception"), std::string::npos);
    }
    // The same host keeps serving the other plugin.
    EXPECT_NO_THROW(registry.plugins().at(1)->resolve(boost::json::object{{"image", "fixture:x"}}));
}

TEST(PluginAbi, ErrorStatusCarriesThePluginMessage) {
    PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(fixture("ok"), {}));
    try {
        registry.plugins().at(0)->release(boost::json::object{{"image", "fixture:x"}});
        FAIL();
    } catch (const PluginCallError &e) {
        EXPECT_EQ(e.status(), SYSTEMK_ERR_TRANSIENT);
        EXPECT_STREQ(e.what(), "release refused by fixture");
    }
}

TEST(PluginAbi, DisabledAndDuplicatePluginsAreSkipped) {
    LogCapture log;
    PluginRegistry registry;
    LoadOptions options;
    options.disabled.insert("fixture-ok");
    EXPECT_FALSE(registry.load_file(fixture("ok"), options));
    EXPECT_NE(log.text().find("disabled by configuration"), std::string::npos);
    EXPECT_TRUE(registry.load_file(fixture("ok"), {}));
    EXPECT_FALSE(registry.load_file(fixture("ok"), {}));
    EXPECT_NE(log.text().find("already loaded"), std::string::npos);
}

TEST(PluginAbi, MissingFileIsRefusedNotFatal) {
    LogCapture log;
    PluginRegistry registry;
    EXPECT_FALSE(registry.load_file("/nonexistent/plugin.so", {}));
    EXPECT_NE(log.text().find("file=/nonexistent/plugin.so refused: its directory cannot be resolved"), std::string::npos)
        << log.text();
}

TEST(PluginAbi, ShippedPluginsLoad) {
    PluginRegistry registry;
    registry.load_directory(SYSTEMK_PLUGIN_DIR, {});
    std::set<std::string> names;
    for (const auto &p : registry.plugins()) names.insert(p->name());
    EXPECT_EQ(names, (std::set<std::string>{"pkg-apt", "pkg-pacman", "pkg-path", "pkg-rpm", "pkg-url", "volumes"}));
    EXPECT_EQ(registry.resolver_for("/bin/sh")->name(), "pkg-path");
    EXPECT_EQ(registry.resolver_for("https://example.org/x_1.0_amd64.deb")->name(), "pkg-url");
    EXPECT_EQ(registry.resolver_for("nginx:1.22")->name(), "pkg-apt");
    EXPECT_EQ(registry.volume_handler_for("emptyDir")->name(), "volumes");
    EXPECT_EQ(registry.volume_handler_for("nfs"), nullptr);
}

TEST(PkgPath, MissingOrNonExecutableBinaryIsAClearError) {
    PluginRegistry registry;
    registry.load_directory(SYSTEMK_PLUGIN_DIR, {});
    const auto *p = registry.resolver_for("/bin/sh");
    try {
        p->resolve(boost::json::object{{"image", "/no/such/binary"}});
        FAIL();
    } catch (const PluginCallError &e) {
        EXPECT_EQ(e.status(), SYSTEMK_ERR_NOT_FOUND);
        EXPECT_STREQ(e.what(), "image /no/such/binary: No such file or directory");
    }
    const auto plain = std::filesystem::temp_directory_path() / "systemk-pkg-path-test-file";
    std::ofstream(plain) << "not a program";
    std::filesystem::permissions(plain, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    try {
        p->resolve(boost::json::object{{"image", plain.string()}});
        FAIL();
    } catch (const PluginCallError &e) {
        EXPECT_EQ(std::string(e.what()), "image " + plain.string() + " is not executable");
    }
    std::filesystem::remove(plain);
    const auto ok = p->resolve(boost::json::object{{"image", "/bin/sh"}});
    EXPECT_EQ(ok.at("execStart").at(0).as_string(), "/bin/sh");
}
