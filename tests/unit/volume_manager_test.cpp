// The volume manager keeps plugin.h's promises: every plugin that prepared a volume gets its
// cleanup call with the recorded request (no content) once the pod is gone, also from another
// instance (an agent restart) through the orphan sweep. Asserted through a fixture plugin that
// records what the host called.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plugins/plugin_loader.h"
#include "pods/container_files.h"
#include "pods/pod_layout.h"
#include "pods/volume_manager.h"
#include "pods/yaml_to_json.h"

using namespace systemk;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string kUid = "eeee-ffff-0001";

class NoObjects final : public pods::ObjectLookup {
public:
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &, const std::string &) const override { return std::nullopt; }
    std::optional<Data> secret(const std::string &, const std::string &) const override { return std::nullopt; }
};

class VolumeManagerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
        dir_ = fs::temp_directory_path() / ("systemk-volume-manager-test-" + std::to_string(getpid()));
        fs::create_directories(dir_);
        record_ = dir_ / "calls";
        setenv("SYSTEMK_FIXTURE_RECORD", record_.c_str(), 1);
        ASSERT_TRUE(registry_.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / "volumes.so", {}));
        ASSERT_TRUE(registry_.load_file(fs::path(SYSTEMK_FIXTURE_PLUGIN_DIR) / "recording-volume" /
                                            "fixture-recording-volume.so",
                                        {}));
        node_.state_dir = (dir_ / "state").string();
        node_.runtime_dir = (dir_ / "run").string();
    }
    void TearDown() override {
        unsetenv("SYSTEMK_FIXTURE_RECORD");
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    json::object pod() {
        return pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: " + kUid +
                                     "}\nspec:\n  securityContext: {runAsUser: 1000}\n  volumes:\n"
                                     "  - {name: scratch, emptyDir: {}}\n"
                                     "  - {name: special, recorded: {setting: x}}\n  containers: []\n")
            .at(0)
            .as_object();
    }
    // The recorded calls as (operation, request).
    std::vector<std::pair<std::string, json::object>> calls() {
        std::vector<std::pair<std::string, json::object>> out;
        std::ifstream in(record_);
        for (std::string line; std::getline(in, line);) {
            const auto space = line.find(' ');
            out.emplace_back(line.substr(0, space), json::parse(line.substr(space + 1)).as_object());
        }
        return out;
    }

    plugins::PluginRegistry registry_;
    pods::NodeContext node_;
    NoObjects objects_;
    fs::path dir_, record_;
};

}  // namespace

TEST_F(VolumeManagerTest, ThePluginThatPreparedAVolumeCleansItUp) {
    const pods::VolumeManager volumes(registry_, node_);
    volumes.prepare(pod(), objects_);
    auto seen = calls();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].first, "prepare");
    EXPECT_EQ(seen[0].second.at("uid"), 1000);
    volumes.cleanup(kUid);
    seen = calls();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].first, "cleanup");
    const auto &request = seen[1].second;
    // The prepare request without content or ownership.
    EXPECT_EQ(request.at("type"), "recorded");
    EXPECT_EQ(request.at("directory"), json::value(pods::volume_dir(node_, kUid, "special", false)));
    EXPECT_EQ(request.at("volume").at("recorded").at("setting"), "x");
    EXPECT_EQ(request.at("pod").at("uid"), json::value(kUid));
    EXPECT_FALSE(request.contains("uid"));
    EXPECT_FALSE(request.contains("data"));
    EXPECT_FALSE(fs::exists(pods::pod_dir(node_, kUid)));
    volumes.cleanup(kUid);  // idempotent: nothing recorded any more, nothing called
    EXPECT_EQ(calls().size(), 2u);
}

TEST_F(VolumeManagerTest, APodDeletedWhileTheAgentWasDownIsCleanedUpAtStart) {
    pods::VolumeManager(registry_, node_).prepare(pod(), objects_);
    // Another instance, as after an agent restart: only the record on disk tells it.
    const pods::VolumeManager after_restart(registry_, node_);
    EXPECT_EQ(after_restart.cleanup_orphans({kUid}), 0u);  // still a pod: left alone
    EXPECT_EQ(calls().size(), 1u);
    EXPECT_EQ(after_restart.cleanup_orphans({}), 1u);
    const auto seen = calls();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].first, "cleanup");
    EXPECT_EQ(seen[1].second.at("type"), "recorded");
    EXPECT_FALSE(fs::exists(pods::pod_dir(node_, kUid)));
    EXPECT_FALSE(fs::exists(pods::pod_runtime_dir(node_, kUid)));
}
