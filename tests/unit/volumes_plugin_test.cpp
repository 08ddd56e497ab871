// The shipped volumes plugin, loaded as the agent loads it, and prepare_volumes in front of it:
// where volumes go (secrets on tmpfs), who owns them, and their modes. Needs root (chown).
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "plugins/plugin_loader.h"
#include "pods/pod_layout.h"
#include "pods/container_files.h"
#include "pods/pod_preparation.h"
#include "pods/volume_manager.h"
#include "pods/spec_error.h"
#include "pods/yaml_to_json.h"

using namespace systemk;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string kUid = "cccc-dddd-0001";

struct Meta {
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    bool dir = false, file = false;
};

// What a container sees at `p` (projected names are symlinks into the current version).
Meta meta(const fs::path &p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return {static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid, S_ISDIR(st.st_mode), S_ISREG(st.st_mode)};
}

std::string read_file(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class FakeObjects final : public pods::ObjectLookup {
public:
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &, const std::string &name) const override {
        if (name == "cm") return Data{{"app.conf", "setting=1"}, {"other", "two"}};
        if (name == "hostile") return Data{{"../escape", "x"}};
        if (name == "kube-root-ca.crt") return Data{{"ca.crt", "CA"}};
        return std::nullopt;
    }
    std::optional<Data> secret(const std::string &, const std::string &name) const override {
        if (name == "s") return Data{{"password", "hunter2"}, {"token", "abc"}};
        return std::nullopt;
    }
    std::optional<std::string> service_account_token(const kube::TokenRequestSpec &spec) const override {
        token_requests.push_back(spec);
        return "token-for-" + spec.pod_name;
    }
    mutable std::vector<kube::TokenRequestSpec> token_requests;
};

class VolumesPlugin : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
        if (!pods::is_on_memory_fs("/dev/shm")) GTEST_SKIP() << "needs a tmpfs at /dev/shm";
        ASSERT_TRUE(registry_.load_file(fs::path(SYSTEMK_PLUGIN_DIR) / "volumes.so", {}));
        const auto tag = "systemk-volumes-test-" + std::to_string(getpid());
        state_ = fs::temp_directory_path() / tag;
        runtime_ = fs::path("/dev/shm") / tag;
        node_.state_dir = state_.string();
        node_.runtime_dir = runtime_.string();
    }
    void TearDown() override {
        if (state_.empty()) return;
        pods::remove_pod_files(node_, kUid);  // unmounts what a failed test left mounted
        fs::remove_all(state_);
        fs::remove_all(runtime_);
    }
    std::map<std::string, units::PreparedVolume> prepare(const std::string &spec_yaml) {
        const auto docs = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: " + kUid +
                                                "}\nspec:\n" + spec_yaml);
        return pods::prepare_volumes(docs.at(0).as_object(), registry_, node_, false, objects_);
    }
    // The plugin called directly, as prepare_volumes would.
    json::value call(json::object request) {
        return registry_.volume_handler_for(std::string(request.at("type").as_string()))->prepare(request);
    }

    plugins::PluginRegistry registry_;
    FakeObjects objects_;
    pods::NodeContext node_;
    fs::path state_, runtime_;
};

}  // namespace

TEST_F(VolumesPlugin, SecretsAndProjectedVolumesLiveOnTmpfsOthersOnDisk) {
    const auto volumes = prepare(
        "  volumes:\n"
        "  - {name: sec, secret: {secretName: s}}\n"
        "  - {name: proj, projected: {sources: [{secret: {name: s}}, {configMap: {name: cm}}]}}\n"
        "  - {name: conf, configMap: {name: cm}}\n"
        "  - {name: scratch, emptyDir: {}}\n"
        "  - {name: mem, emptyDir: {medium: Memory}}\n"
        "  containers: []\n");
    EXPECT_EQ(volumes.at("sec").path, pods::volume_dir(node_, kUid, "sec", true));
    EXPECT_EQ(volumes.at("mem").path, pods::volume_dir(node_, kUid, "mem", true));
    EXPECT_EQ(volumes.at("proj").path, pods::volume_dir(node_, kUid, "proj", true));
    EXPECT_EQ(volumes.at("conf").path, pods::volume_dir(node_, kUid, "conf", false));
    EXPECT_EQ(volumes.at("scratch").path, pods::volume_dir(node_, kUid, "scratch", false));
    EXPECT_TRUE(pods::is_on_memory_fs(volumes.at("sec").path));
    EXPECT_TRUE(pods::is_on_memory_fs(volumes.at("proj").path + "/password"));
    EXPECT_EQ(read_file(volumes.at("sec").path + "/password"), "hunter2");
    EXPECT_EQ(read_file(volumes.at("proj").path + "/app.conf"), "setting=1");
    EXPECT_TRUE(volumes.at("sec").read_only);
    EXPECT_FALSE(volumes.at("scratch").read_only);
    // No secret byte on persistent disk.
    for (const auto &e : fs::recursive_directory_iterator(state_)) {
        if (e.is_regular_file()) {
            EXPECT_EQ(read_file(e.path()).find("hunter2"), std::string::npos) << e.path();
        }
    }
    // Both pod directories are root-only.
    for (const auto &dir : {pods::pod_dir(node_, kUid), pods::pod_runtime_dir(node_, kUid)}) {
        EXPECT_EQ(meta(dir).mode, 0700u) << dir;
        EXPECT_EQ(meta(dir).uid, 0u) << dir;
        EXPECT_EQ(meta(dir + "/volumes").mode, 0700u) << dir;
    }
}

TEST_F(VolumesPlugin, SecretsAreRefusedWhenTheRuntimeDirIsNotTmpfs) {
    if (pods::is_on_memory_fs(fs::temp_directory_path())) GTEST_SKIP() << "the temp directory is a tmpfs";
    node_.runtime_dir = (state_ / "not-tmpfs").string();
    try {
        prepare("  volumes:\n  - {name: sec, secret: {secretName: s}}\n  containers: []\n");
        FAIL() << "a secret was placed on persistent disk";
    } catch (const pods::SpecError &e) {
        EXPECT_EQ(e.field(), "spec.volumes[0]");
        EXPECT_NE(std::string(e.what()).find("is not on tmpfs"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(pods::volume_dir(node_, kUid, "sec", true)));
}

TEST_F(VolumesPlugin, DefaultModesAndRootOwnershipWithoutSecurityContext) {
    const auto volumes = prepare(
        "  volumes:\n"
        "  - {name: sec, secret: {secretName: s}}\n"
        "  - {name: scratch, emptyDir: {}}\n"
        "  containers: []\n");
    const auto sec = volumes.at("sec").path;
    EXPECT_EQ(meta(sec).mode, 0750u);
    EXPECT_EQ(meta(sec).uid, 0u);
    EXPECT_EQ(meta(sec + "/password").mode, 0644u);  // the kubelet's default
    EXPECT_EQ(meta(sec + "/password").uid, 0u);
    const auto scratch = meta(volumes.at("scratch").path);
    EXPECT_TRUE(scratch.dir);
    EXPECT_EQ(scratch.mode, 0750u);  // no longer 01777
    EXPECT_EQ(scratch.uid, 0u);
    EXPECT_EQ(scratch.gid, 0u);
}

TEST_F(VolumesPlugin, ModesAndOwnersFollowTheSpec) {
    const auto volumes = prepare(
        "  securityContext: {runAsUser: 1000, runAsGroup: 3000}\n"
        "  volumes:\n"
        "  - name: sec\n"
        "    secret:\n"
        "      secretName: s\n"
        "      defaultMode: 256\n"
        "      items: [{key: password, path: nested/dir/pw, mode: 384}, {key: token, path: token}]\n"
        "  - {name: conf, configMap: {name: cm, defaultMode: 288}}\n"
        "  - {name: scratch, emptyDir: {}}\n"
        "  containers: []\n");
    const auto sec = volumes.at("sec").path;
    EXPECT_EQ(meta(sec).mode, 0750u);
    EXPECT_EQ(meta(sec).uid, 1000u);
    EXPECT_EQ(meta(sec).gid, 3000u);
    EXPECT_EQ(meta(sec + "/nested").mode, 0750u);
    EXPECT_EQ(meta(sec + "/nested/dir").uid, 1000u);
    EXPECT_EQ(meta(sec + "/nested/dir/pw").mode, 0600u);  // the item's mode, exactly
    EXPECT_EQ(meta(sec + "/nested/dir/pw").uid, 1000u);
    EXPECT_EQ(meta(sec + "/nested/dir/pw").gid, 3000u);
    EXPECT_EQ(meta(sec + "/token").mode, 0400u);  // defaultMode, exactly
    EXPECT_FALSE(fs::exists(sec + "/password"));  // items select what is projected
    EXPECT_EQ(meta(volumes.at("conf").path + "/app.conf").mode, 0440u);
    const auto scratch = meta(volumes.at("scratch").path);
    EXPECT_EQ(scratch.mode, 0750u);
    EXPECT_EQ(scratch.uid, 1000u);
    EXPECT_EQ(scratch.gid, 3000u);
}

TEST_F(VolumesPlugin, FsGroupMakesEmptyDirGroupWritableAndFilesGroupReadable) {
    const auto volumes = prepare(
        "  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000}\n"
        "  volumes:\n"
        "  - {name: sec, secret: {secretName: s, defaultMode: 256}}\n"
        "  - {name: scratch, emptyDir: {}}\n"
        "  containers: []\n");
    const auto scratch = meta(volumes.at("scratch").path);
    EXPECT_EQ(scratch.mode, 02770u);
    EXPECT_EQ(scratch.uid, 1000u);
    EXPECT_EQ(scratch.gid, 2000u);
    const auto pw = meta(volumes.at("sec").path + "/password");
    EXPECT_EQ(pw.mode, 0440u);
    EXPECT_EQ(pw.uid, 1000u);
    EXPECT_EQ(pw.gid, 2000u);
}

TEST_F(VolumesPlugin, WithoutAPodUserTheContainersMountingAVolumeChooseItsOwner) {
    const auto volumes = prepare(
        "  volumes:\n"
        "  - {name: mine, emptyDir: {}}\n"
        "  - {name: shared, emptyDir: {}}\n"
        "  - {name: disputed, emptyDir: {}}\n"
        "  initContainers:\n"
        "  - {name: setup, image: /bin/true, volumeMounts: [{name: shared, mountPath: /s}]}\n"  // root
        "  containers:\n"
        "  - name: app\n"
        "    image: /bin/true\n"
        "    securityContext: {runAsUser: 1000, runAsGroup: 1001}\n"
        "    volumeMounts: [{name: mine, mountPath: /m}, {name: shared, mountPath: /s}, {name: disputed, mountPath: /d}]\n"
        "  - name: other\n"
        "    image: /bin/true\n"
        "    securityContext: {runAsUser: 2000}\n"
        "    volumeMounts: [{name: disputed, mountPath: /d}]\n");
    EXPECT_EQ(meta(volumes.at("mine").path).uid, 1000u);
    EXPECT_EQ(meta(volumes.at("mine").path).gid, 1001u);
    EXPECT_EQ(meta(volumes.at("shared").path).uid, 1000u);  // root needs no ownership
    EXPECT_EQ(meta(volumes.at("disputed").path).uid, 0u);   // two users: only fsGroup can share it
    EXPECT_EQ(meta(volumes.at("disputed").path).gid, 1001u);
    EXPECT_EQ(meta(volumes.at("disputed").path).mode, 0750u);
}

TEST_F(VolumesPlugin, RunAsRootIsOverriddenLikeTheUnits) {
    node_.override_root_uid = 4242;
    const auto volumes = prepare("  securityContext: {runAsUser: 0}\n  volumes:\n  - {name: scratch, emptyDir: {}}\n"
                                 "  containers: []\n");
    EXPECT_EQ(meta(volumes.at("scratch").path).uid, 4242u);
}

TEST_F(VolumesPlugin, HostileNamesAndKeysAreRefused) {
    auto error_of = [&](const std::string &volumes) {
        try {
            prepare("  volumes:\n" + volumes + "  containers: []\n");
        } catch (const pods::SpecError &e) {
            return e.field() + ": " + e.what();
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of("  - {name: ../x, emptyDir: {}}\n").find("spec.volumes[0].name"), std::string::npos);
    EXPECT_NE(error_of("  - {name: a/b, emptyDir: {}}\n").find("spec.volumes[0].name"), std::string::npos);
    EXPECT_NE(error_of("  - {name: " + std::string(300, 'a') + ", emptyDir: {}}\n").find("spec.volumes[0].name"),
              std::string::npos);
    EXPECT_NE(error_of("  - {name: h, configMap: {name: hostile}}\n").find("not a valid file name"), std::string::npos);
    EXPECT_NE(error_of("  - {name: h, configMap: {name: cm, items: [{key: other, path: ../../x}]}}\n")
                  .find("would leave the volume"),
              std::string::npos);
    EXPECT_NE(error_of("  - {name: h, configMap: {name: cm, defaultMode: 4096}}\n").find("defaultMode"), std::string::npos);
    EXPECT_FALSE(fs::exists(state_ / "x"));
    EXPECT_FALSE(fs::exists(state_ / "pods" / "x"));
}

TEST_F(VolumesPlugin, PlantedSymlinksAreReplacedNeverFollowed) {
    const auto dir = pods::volume_dir(node_, kUid, "conf", false);
    fs::create_directories(state_ / "victim");
    std::ofstream(state_ / "victim" / "target") << "untouched";
    fs::create_directories(dir + "/sub");
    // Links planted where a file, its temporary name and a parent directory will be written.
    fs::create_symlink(state_ / "victim" / "target", dir + "/app.conf");
    fs::create_symlink(state_ / "victim" / "target", dir + "/..other.tmp");
    fs::create_symlink(state_ / "victim", dir + "/linkdir");
    json::object request{{"type", "configMap"},
                         {"directory", dir},
                         {"volume", json::object{{"name", "conf"}, {"configMap", json::object{{"name", "cm"}}}}},
                         {"data", json::object{{"app.conf", "c2V0dGluZz0x"}, {"other", "dHdv"}}},
                         {"uid", 1000},
                         {"gid", 1000}};
    call(request);
    EXPECT_EQ(read_file(state_ / "victim" / "target"), "untouched");
    EXPECT_TRUE(meta(dir + "/app.conf").file);
    EXPECT_EQ(read_file(dir + "/app.conf"), "setting=1");
    EXPECT_EQ(read_file(dir + "/other"), "two");
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/linkdir")));  // stale entries go, as themselves
    EXPECT_TRUE(fs::exists(state_ / "victim" / "target"));
    EXPECT_FALSE(fs::exists(dir + "/sub"));
    // A symlink planted where a parent directory of an item belongs is removed, not followed
    // (one planted after that is refused by O_NOFOLLOW).
    fs::create_symlink(state_ / "victim", dir + "/nested");
    request["volume"].as_object()["configMap"].as_object()["items"] =
        json::array{json::object{{"key", "other"}, {"path", "nested/file"}}};
    call(request);
    EXPECT_FALSE(fs::exists(state_ / "victim" / "file"));
    EXPECT_TRUE(meta(dir + "/nested").dir);
    EXPECT_EQ(read_file(dir + "/nested/file"), "two");
}

TEST_F(VolumesPlugin, RefreshRemovesFilesNoLongerProjected) {
    const auto dir = pods::volume_dir(node_, kUid, "conf", false);
    json::object request{{"type", "configMap"},
                         {"directory", dir},
                         {"volume", json::object{{"name", "conf"}, {"configMap", json::object{{"name", "cm"}}}}},
                         {"data", json::object{{"a", "YQ=="}, {"b", "Yg=="}}}};
    call(request);
    EXPECT_EQ(read_file(dir + "/b"), "b");
    request["data"] = json::object{{"a", "YTI="}};
    call(request);
    EXPECT_EQ(read_file(dir + "/a"), "a2");
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/b")));
    // No temporary and no older version left: the name, the current version and its link.
    std::set<std::string> names;
    for (const auto &e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    const auto version = fs::read_symlink(dir + "/..data").string();
    EXPECT_EQ(names, (std::set<std::string>{"a", "..data", version}));
}

// The kubelet's AtomicWriter layout: each version complete in its own directory, made current
// by one rename of the ..data link; the names containers open are links through ..data.
TEST_F(VolumesPlugin, EachVersionIsCompleteBeforeOneLinkSwapMakesItCurrent) {
    const auto dir = pods::volume_dir(node_, kUid, "conf", false);
    json::object request{{"type", "configMap"},
                         {"directory", dir},
                         {"volume", json::object{{"name", "conf"}, {"configMap", json::object{{"name", "cm"}}}}},
                         {"data", json::object{{"a", "djE="}, {"b", "djE="}}},
                         {"uid", 1000},
                         {"gid", 1000}};
    call(request);
    const auto v1 = fs::read_symlink(dir + "/..data").string();
    EXPECT_EQ(v1.rfind("..", 0), 0u);
    EXPECT_EQ(v1.find('/'), std::string::npos);
    EXPECT_EQ(fs::read_symlink(dir + "/a"), "..data/a");
    EXPECT_EQ(fs::read_symlink(dir + "/b"), "..data/b");
    const auto version_meta = meta(dir + "/" + v1);
    EXPECT_EQ(version_meta.mode, 0750u);
    EXPECT_EQ(version_meta.uid, 1000u);
    // A reader that resolved ..data once reads a pair from one version.
    EXPECT_EQ(read_file(dir + "/" + v1 + "/a"), "v1");
    request["data"] = json::object{{"a", "djI="}, {"b", "djI="}};
    call(request);
    const auto v2 = fs::read_symlink(dir + "/..data").string();
    EXPECT_NE(v2, v1);
    EXPECT_EQ(read_file(dir + "/" + v2 + "/a") + read_file(dir + "/" + v2 + "/b"), "v2v2");
    EXPECT_EQ(read_file(dir + "/a"), "v2");
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/" + v1)));  // the old version is gone
    EXPECT_EQ(meta(dir + "/a").uid, 1000u);
}

TEST_F(VolumesPlugin, AnOlderLayoutOfPlainFilesIsReplaced) {
    const auto dir = pods::volume_dir(node_, kUid, "conf", false);
    fs::create_directories(dir + "/nested");
    std::ofstream(dir + "/a") << "old";
    std::ofstream(dir + "/nested/x") << "old";
    json::object request{{"type", "configMap"},
                         {"directory", dir},
                         {"volume", json::object{{"name", "conf"}, {"configMap", json::object{{"name", "cm"}}}}},
                         {"data", json::object{{"a", "bmV3"}, {"nested", "bmV3"}}}};
    call(request);
    EXPECT_EQ(read_file(dir + "/a"), "new");
    EXPECT_EQ(read_file(dir + "/nested"), "new");
    EXPECT_TRUE(fs::is_symlink(dir + "/nested"));
}

TEST_F(VolumesPlugin, ServiceAccountTokensAreProjectedOnTmpfs) {
    const auto volumes = prepare(
        "  serviceAccountName: builder\n"
        "  volumes:\n"
        "  - name: kube-api-access-x1\n"
        "    projected:\n"
        "      defaultMode: 420\n"
        "      sources:\n"
        "      - serviceAccountToken: {expirationSeconds: 3607, path: token}\n"
        "      - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}\n"
        "      - downwardAPI: {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}\n"
        "  - name: vault\n"
        "    projected: {sources: [{serviceAccountToken: {audience: vault, expirationSeconds: 600, path: t/vault}}]}\n"
        "  containers: []\n");
    const auto dir = volumes.at("kube-api-access-x1").path;
    EXPECT_TRUE(pods::is_on_memory_fs(dir));
    EXPECT_EQ(read_file(dir + "/token"), "token-for-p");
    EXPECT_EQ(read_file(dir + "/ca.crt"), "CA");
    EXPECT_EQ(read_file(dir + "/namespace"), "ns");
    EXPECT_EQ(meta(dir + "/token").mode, 0644u);
    EXPECT_EQ(read_file(volumes.at("vault").path + "/t/vault"), "token-for-p");
    ASSERT_EQ(objects_.token_requests.size(), 2u);
    const auto &first = objects_.token_requests[0];
    EXPECT_EQ(first.ns, "ns");
    EXPECT_EQ(first.service_account, "builder");
    EXPECT_EQ(first.pod_name, "p");
    EXPECT_EQ(first.pod_uid, kUid);
    EXPECT_EQ(first.expiration_seconds, 3607);
    EXPECT_EQ(first.audience, "");
    EXPECT_EQ(objects_.token_requests[1].audience, "vault");
    EXPECT_EQ(objects_.token_requests[1].expiration_seconds, 600);
}

TEST_F(VolumesPlugin, TokenRequestsTheAPIServerWouldRefuseAreRefused) {
    try {
        prepare("  volumes:\n  - {name: t, projected: {sources: [{serviceAccountToken: {expirationSeconds: 60, path: t}}]}}\n"
                "  containers: []\n");
        FAIL() << "a token below 10 minutes was asked for";
    } catch (const pods::SpecError &e) {
        EXPECT_EQ(e.field(), "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds");
    }
    EXPECT_TRUE(objects_.token_requests.empty());
}

TEST_F(VolumesPlugin, AFileMayBecomeADirectoryAndBack) {
    const auto dir = pods::volume_dir(node_, kUid, "conf", false);
    json::object request{{"type", "configMap"},
                         {"directory", dir},
                         {"volume", json::object{{"name", "conf"}, {"configMap", json::object{{"name", "cm"}}}}},
                         {"data", json::object{{"a", "YQ=="}}}};
    call(request);
    EXPECT_EQ(read_file(dir + "/a"), "a");
    auto &source = request["volume"].as_object()["configMap"].as_object();
    source["items"] = json::array{json::object{{"key", "a"}, {"path", "a/b"}}};
    call(request);
    EXPECT_EQ(read_file(dir + "/a/b"), "a");
    source["items"] = json::array{json::object{{"key", "a"}, {"path", "a"}}};
    call(request);
    EXPECT_TRUE(meta(dir + "/a").file);
    EXPECT_EQ(read_file(dir + "/a"), "a");
}

TEST_F(VolumesPlugin, MemoryEmptyDirIsATmpfsOfItsSizeLimitAndCleanupUnmountsIt) {
    const pods::VolumeManager volumes(registry_, node_);
    const auto docs = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: " + kUid +
                                            "}\nspec:\n  securityContext: {runAsUser: 1000, runAsGroup: 3000}\n"
                                            "  volumes:\n  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}\n"
                                            "  - {name: conf, configMap: {name: cm}}\n  containers: []\n");
    const auto prepared = volumes.prepare(docs.at(0).as_object(), objects_);
    const auto mem = prepared.at("mem").path;
    struct statfs sfs {};
    ASSERT_EQ(statfs(mem.c_str(), &sfs), 0);
    EXPECT_EQ(sfs.f_type, static_cast<decltype(sfs.f_type)>(TMPFS_MAGIC));
    EXPECT_EQ(static_cast<uint64_t>(sfs.f_blocks) * sfs.f_bsize, 8u * 1024 * 1024);
    EXPECT_EQ(meta(mem).uid, 1000u);
    EXPECT_EQ(meta(mem).mode, 0750u);
    // Preparing again (an agent restart) keeps the mount and its content.
    std::ofstream(mem + "/f") << "kept";
    volumes.prepare(docs.at(0).as_object(), objects_);
    EXPECT_EQ(read_file(mem + "/f"), "kept");
    // The record says what to clean up; a pod that is not known any more is removed whole.
    EXPECT_TRUE(fs::exists(pods::volume_record_path(node_, kUid)));
    EXPECT_EQ(volumes.cleanup_orphans({"another-uid"}), 1u);
    EXPECT_FALSE(fs::exists(pods::pod_runtime_dir(node_, kUid)));
    EXPECT_FALSE(fs::exists(pods::pod_dir(node_, kUid)));
    EXPECT_EQ(volumes.cleanup_orphans({}), 0u);
    volumes.cleanup(kUid);  // idempotent
}

TEST_F(VolumesPlugin, OrphanCleanupLeavesKnownPods) {
    const pods::VolumeManager volumes(registry_, node_);
    prepare("  volumes:\n  - {name: scratch, emptyDir: {}}\n  containers: []\n");
    EXPECT_EQ(volumes.cleanup_orphans({kUid}), 0u);
    EXPECT_TRUE(fs::exists(pods::volume_dir(node_, kUid, "scratch", false)));
}

TEST_F(VolumesPlugin, BadSizeLimitIsRefused) {
    try {
        prepare("  volumes:\n  - {name: mem, emptyDir: {medium: Memory, sizeLimit: lots}}\n  containers: []\n");
        FAIL() << "a bad sizeLimit was accepted";
    } catch (const pods::SpecError &e) {
        EXPECT_NE(std::string(e.what()).find("sizeLimit"), std::string::npos) << e.what();
    }
    pods::remove_pod_files(node_, kUid);
}

TEST_F(VolumesPlugin, HostPathTypesAreChecked) {
    fs::create_directories(state_ / "host");
    std::ofstream(state_ / "host" / "file") << "x";
    auto error_of = [&](const std::string &path, const std::string &type) {
        try {
            prepare("  volumes:\n  - {name: h, hostPath: {path: '" + path + "', type: " + type + "}}\n  containers: []\n");
        } catch (const pods::SpecError &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const auto dir = (state_ / "host").string(), file = (state_ / "host" / "file").string();
    EXPECT_EQ(error_of(dir, "Directory"), "");
    EXPECT_NE(error_of(file, "Directory").find("is not a directory"), std::string::npos);
    EXPECT_EQ(error_of(file, "File"), "");
    EXPECT_NE(error_of(dir, "File").find("is not a regular file"), std::string::npos);
    EXPECT_NE(error_of(file, "DirectoryOrCreate").find("is not a directory"), std::string::npos);
    EXPECT_NE(error_of(dir, "FileOrCreate").find("is not a regular file"), std::string::npos);
    EXPECT_NE(error_of(dir, "Socket").find("is not a socket"), std::string::npos);
    EXPECT_NE(error_of(dir, "BlockDevice").find("is not a block device"), std::string::npos);
    EXPECT_NE(error_of(file, "CharDevice").find("is not a character device"), std::string::npos);
    EXPECT_EQ(error_of("/dev/null", "CharDevice"), "");
    EXPECT_NE(error_of(dir + "/missing", "Directory").find("does not exist"), std::string::npos);
    EXPECT_NE(error_of(dir, "Folder").find("not a valid type"), std::string::npos);
    EXPECT_EQ(error_of(dir + "/made/d", "DirectoryOrCreate"), "");
    EXPECT_TRUE(fs::is_directory(dir + "/made/d"));
    EXPECT_EQ(error_of(dir + "/made/f", "FileOrCreate"), "");
    EXPECT_TRUE(fs::is_regular_file(dir + "/made/f"));
    EXPECT_EQ(fs::status(dir + "/made/f").permissions() & fs::perms::all, fs::perms(0644));
}
