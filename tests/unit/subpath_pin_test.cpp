// subPath pins (pods::pin_subpaths / remove_pod_files) against real files and bind mounts, and
// the unit side (add_mounts records a pin instead of joining the subPath onto the volume path).
// The pin tests need root (mount(2)); they are skipped otherwise.
//
// Chosen semantics, checked here: a symlink inside the volume that resolves beneath it is
// followed; an absolute symlink, or one that climbs out with "..", is refused, wherever it
// appears in the subPath.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pods/container_files.h"
#include "pods/pod_layout.h"
#include "pods/spec_error.h"
#include "pods/yaml_to_json.h"
#include "units/synthesis.h"

using namespace systemk;
namespace fs = std::filesystem;

namespace systemk::pods {
void use_subpath_fallback_for_tests(bool on);  // subpath_pin.cpp
}

namespace {

const std::string kUid = "aaaa-bbbb-0001";

std::vector<std::string> mounts_below(const std::string &prefix) {
    std::vector<std::string> out;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string id, parent, dev, root, point;
        words >> id >> parent >> dev >> root >> point;
        if (point.rfind(prefix, 0) == 0) out.push_back(point);
    }
    return out;
}

std::string read_file(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class SubPathPin : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for mount(2)";
        base_ = fs::temp_directory_path() / ("systemk-subpath-test-" + std::to_string(getpid()));
        fs::remove_all(base_);
        node_.state_dir = (base_ / "state").string();
        node_.runtime_dir = (base_ / "run").string();
        pods::make_pod_dirs(node_, kUid);
        volume_ = pods::volume_dir(node_, kUid, "data", false);
        fs::create_directories(volume_);
        std::ofstream(fs::path(volume_) / "file") << "volume file";
        // Something outside the volume that no pin may reach.
        fs::create_directories(base_ / "outside");
        std::ofstream(base_ / "outside" / "secret") << "outside";
    }
    void TearDown() override {
        if (base_.empty()) return;
        pods::remove_pod_files(node_, kUid);
        for (const auto &p : mounts_below(base_.string())) umount2(p.c_str(), MNT_DETACH);
        fs::remove_all(base_);
    }
    units::SubPathMount mount_of(const std::string &sub, size_t index = 0) {
        return {volume_, sub, pods::subpath_pin_path(node_, kUid, "data", "app", index),
                "spec.containers[0].volumeMounts[" + std::to_string(index) + "].subPath"};
    }
    // The SpecError's message, or "pinned" when the pin succeeded.
    std::string pin(const std::string &sub, size_t index = 0) {
        try {
            pods::pin_subpaths({mount_of(sub, index)});
        } catch (const pods::SpecError &e) {
            EXPECT_EQ(e.field(), mount_of(sub, index).field);
            EXPECT_EQ(e.reason(), "CreateContainerConfigError");
            return e.what();
        }
        return "pinned";
    }

    fs::path base_;
    pods::NodeContext node_;
    std::string volume_;
};

}  // namespace

TEST_F(SubPathPin, SymlinkToRootIsRefused) {
    fs::create_symlink("/", fs::path(volume_) / "escape");
    const auto message = pin("escape");
    EXPECT_NE(message.find("leads out of its volume"), std::string::npos) << message;
    EXPECT_TRUE(mounts_below(base_.string()).empty());
}

TEST_F(SubPathPin, EscapesAnywhereInThePathAreRefused) {
    fs::create_directories(fs::path(volume_) / "dir");
    fs::create_symlink("/etc/passwd", fs::path(volume_) / "passwd");                 // absolute, to a file
    fs::create_symlink(base_ / "outside", fs::path(volume_) / "dir" / "abs");         // absolute, to a dir
    fs::create_symlink("../../../../../../outside", fs::path(volume_) / "dir" / "up");  // climbs out
    fs::create_symlink(volume_, fs::path(volume_) / "self-absolute");                 // absolute, even to itself
    for (const auto *sub : {"passwd", "dir/abs", "dir/abs/secret", "dir/up", "dir/up/secret", "self-absolute/file"})
        EXPECT_NE(pin(sub), "pinned") << sub;
    // Creating a missing subPath through an escaping link must not create anything outside.
    const auto planted = "systemk-subpath-test-must-not-exist-" + std::to_string(getpid());
    fs::create_symlink("/tmp", fs::path(volume_) / "tmp");
    EXPECT_NE(pin("tmp/" + planted), "pinned");
    EXPECT_FALSE(fs::exists(fs::path("/tmp") / planted));
    EXPECT_TRUE(mounts_below(base_.string()).empty());
}

TEST_F(SubPathPin, SymlinksThatStayBeneathAreFollowed) {
    fs::create_directories(fs::path(volume_) / "real" / "nested");
    std::ofstream(fs::path(volume_) / "real" / "nested" / "f") << "nested file";
    fs::create_symlink("real", fs::path(volume_) / "link");
    fs::create_symlink("../file", fs::path(volume_) / "real" / "up-to-file");  // ".." but still inside
    EXPECT_EQ(pin("link/nested", 0), "pinned");
    EXPECT_EQ(read_file(mount_of("x", 0).pinned_path + "/f"), "nested file");
    EXPECT_EQ(pin("real/up-to-file", 1), "pinned");
    EXPECT_EQ(read_file(mount_of("x", 1).pinned_path), "volume file");
}

TEST_F(SubPathPin, NestedDirectoriesAndFilesArePinned) {
    fs::create_directories(fs::path(volume_) / "a" / "b" / "c");
    std::ofstream(fs::path(volume_) / "a" / "b" / "c" / "x") << "deep";
    EXPECT_EQ(pin("a/b/c", 0), "pinned");
    EXPECT_EQ(read_file(mount_of("x", 0).pinned_path + "/x"), "deep");
    EXPECT_EQ(pin("./a//b/c/x", 1), "pinned");
    EXPECT_TRUE(fs::is_regular_file(mount_of("x", 1).pinned_path));
    EXPECT_EQ(read_file(mount_of("x", 1).pinned_path), "deep");
    // The pin holds the directory the path named when it was pinned: swapping the path for a
    // symlink afterwards (what a running container could do) does not move it.
    fs::rename(fs::path(volume_) / "a", fs::path(volume_) / "moved");
    fs::create_symlink("/", fs::path(volume_) / "a");
    EXPECT_EQ(read_file(mount_of("x", 0).pinned_path + "/x"), "deep");
}

TEST_F(SubPathPin, MissingSubPathIsCreatedAsADirectoryLikeTheVolumeRoot) {
    chown(volume_.c_str(), 65534, 65534);
    chmod(volume_.c_str(), 02770);
    EXPECT_EQ(pin("new/deeper"), "pinned");
    for (const auto *dir : {"new", "new/deeper"}) {
        struct stat st {};
        ASSERT_EQ(lstat((fs::path(volume_) / dir).c_str(), &st), 0) << dir;
        EXPECT_TRUE(S_ISDIR(st.st_mode));
        EXPECT_EQ(st.st_uid, 65534u);
        EXPECT_EQ(st.st_gid, 65534u);
        EXPECT_EQ(st.st_mode & 07777, 02770u);
    }
    std::ofstream(fs::path(volume_) / "new" / "deeper" / "seen") << "through the pin";
    EXPECT_EQ(read_file(mount_of("x").pinned_path + "/seen"), "through the pin");
}

TEST_F(SubPathPin, PinningAgainReplacesThePin) {
    fs::create_directories(fs::path(volume_) / "one");
    fs::create_directories(fs::path(volume_) / "two");
    std::ofstream(fs::path(volume_) / "two" / "marker") << "two";
    EXPECT_EQ(pin("one"), "pinned");
    EXPECT_EQ(pin("one"), "pinned");
    EXPECT_EQ(mounts_below(mount_of("x").pinned_path).size(), 1u);
    EXPECT_EQ(pin("two"), "pinned");
    EXPECT_EQ(mounts_below(mount_of("x").pinned_path).size(), 1u);
    EXPECT_EQ(read_file(mount_of("x").pinned_path + "/marker"), "two");
    EXPECT_EQ(pin("file"), "pinned");  // a directory pin replaced by a file pin
    EXPECT_EQ(read_file(mount_of("x").pinned_path), "volume file");
}

TEST_F(SubPathPin, RemovePodFilesUnmountsFirstAndDeletesNothingOutside) {
    // A volume outside the pod's directories (a hostPath) and one inside (emptyDir).
    const auto host = base_ / "host-volume";
    fs::create_directories(host / "sub");
    std::ofstream(host / "sub" / "keep") << "host data";
    fs::create_directories(fs::path(volume_) / "sub");
    pods::pin_subpaths({{host.string(), "sub", pods::subpath_pin_path(node_, kUid, "host", "app", 0), "f"},
                        {volume_, "sub", pods::subpath_pin_path(node_, kUid, "data", "app", 1), "f"},
                        {host.string(), "sub/keep", pods::subpath_pin_path(node_, kUid, "host", "init", 3), "f"}});
    EXPECT_EQ(mounts_below(pods::pod_runtime_dir(node_, kUid)).size(), 3u);
    pods::remove_pod_files(node_, kUid);
    EXPECT_TRUE(mounts_below(base_.string()).empty());
    EXPECT_FALSE(fs::exists(pods::pod_runtime_dir(node_, kUid)));
    EXPECT_FALSE(fs::exists(pods::pod_dir(node_, kUid)));
    EXPECT_EQ(read_file(host / "sub" / "keep"), "host data");
    EXPECT_EQ(read_file(base_ / "outside" / "secret"), "outside");
    pods::remove_pod_files(node_, kUid);  // idempotent
    pods::remove_pod_files(node_, "../x");  // a hostile UID is ignored, never a path
    EXPECT_TRUE(fs::exists(base_ / "outside" / "secret"));
}

TEST_F(SubPathPin, WithoutOpenat2EverySymlinkIsRefused) {
    pods::use_subpath_fallback_for_tests(true);
    fs::create_directories(fs::path(volume_) / "real" / "nested");
    fs::create_symlink("/", fs::path(volume_) / "escape");
    fs::create_symlink("real", fs::path(volume_) / "link");
    for (const auto *sub : {"escape", "escape/etc", "link", "link/nested", "real/../escape"}) EXPECT_NE(pin(sub), "pinned") << sub;
    EXPECT_EQ(pin("real/nested"), "pinned");
    EXPECT_EQ(pin("created/here", 1), "pinned");
    EXPECT_TRUE(fs::is_directory(fs::path(volume_) / "created" / "here"));
    pods::use_subpath_fallback_for_tests(false);
    EXPECT_EQ(mounts_below(base_.string()).size(), 2u);
}

TEST_F(SubPathPin, RemovePodFilesFindsPinsThroughASymlinkedRuntimeDir) {
    fs::create_symlink(base_ / "run", base_ / "run-link");
    node_.runtime_dir = (base_ / "run-link").string();
    fs::create_directories(fs::path(volume_) / "sub");
    std::ofstream(fs::path(volume_) / "sub" / "keep") << "kept";
    pods::pin_subpaths({{volume_, "sub", pods::subpath_pin_path(node_, kUid, "data", "app", 0), "f"}});
    ASSERT_EQ(mounts_below((base_ / "run").string()).size(), 1u);
    // The persistent dir holds the volume itself: removing it is expected; the point is that
    // the pin is gone first and nothing outside the pod is touched.
    pods::remove_pod_files(node_, kUid);
    EXPECT_TRUE(mounts_below(base_.string()).empty());
    EXPECT_FALSE(fs::exists(base_ / "run" / "pods" / kUid));
    EXPECT_EQ(read_file(base_ / "outside" / "secret"), "outside");
}

// --- the unit side --------------------------------------------------------------------------

namespace {

std::vector<units::PodUnit> synthesize(const std::string &mounts, const pods::NodeContext &node) {
    static const pods::OfflineLookup offline;
    const auto docs = pods::parse_manifests(
        "kind: Pod\nmetadata: {name: p, uid: " + kUid + "}\nspec:\n  volumes:\n  - {name: data, emptyDir: {}}\n"
        "  containers:\n  - name: app\n    image: /bin/true\n    volumeMounts:\n" + mounts);
    const auto pod = docs.at(0).as_object();
    units::PodInputs in;
    in.pod = &pod;
    in.node = &node;
    in.objects = &offline;
    units::ResolvedImage image;
    image.resolver = "pkg-path";
    image.default_command = {{"/bin/true", units::WordOrigin::PodSpec}};
    in.images = {{"app", image}};
    in.volumes = {{"data", {pods::volume_dir(node, kUid, "data", false), false}}};
    return units::synthesize_pod_units(in);
}

std::string sub_path_error(const std::string &mount_line) {
    try {
        synthesize(mount_line, pods::NodeContext{});
    } catch (const pods::SpecError &e) {
        return e.field();
    }
    return "no error";
}

}  // namespace

TEST(SubPathUnits, SubPathMountsThePinnedPath) {
    const pods::NodeContext node;
    const auto units = synthesize("    - {name: data, mountPath: /whole}\n"
                                  "    - {name: data, mountPath: /etc/app.conf, subPath: conf/app.conf, readOnly: true}\n",
                                  node);
    ASSERT_EQ(units.size(), 1u);
    const auto &s = *units[0].unit.find("Service");
    const auto volume = pods::volume_dir(node, kUid, "data", false);
    const auto pinned = pods::subpath_pin_path(node, kUid, "data", "app", 1);
    EXPECT_EQ(s.last("BindPaths"), volume + ":/whole");
    EXPECT_EQ(s.last("BindReadOnlyPaths"), pinned + ":/etc/app.conf");
    ASSERT_EQ(units[0].subpaths.size(), 1u);
    EXPECT_EQ(units[0].subpaths[0].volume_path, volume);
    EXPECT_EQ(units[0].subpaths[0].sub_path, "conf/app.conf");
    EXPECT_EQ(units[0].subpaths[0].pinned_path, pinned);
    EXPECT_EQ(units[0].subpaths[0].field, "spec.containers[0].volumeMounts[1].subPath");
    // Nothing of the subPath reaches the unit file.
    EXPECT_EQ(units::write_unit(units[0].unit).find("conf/app.conf"), std::string::npos);
}

TEST(SubPathUnits, HostileSubPathsAreRefused) {
    const std::string field = "spec.containers[0].volumeMounts[0].subPath";
    for (const auto &sub : std::vector<std::string>{"../x", "/etc", "a/../../b", "a/..", "..", std::string(5000, 'a')})
        EXPECT_EQ(sub_path_error("    - {name: data, mountPath: /x, subPath: '" + sub + "'}\n"), field) << sub;
    EXPECT_EQ(sub_path_error("    - {name: data, mountPath: /x, subPath: \"a\\0b\"}\n"), field);
    EXPECT_EQ(sub_path_error("    - {name: data, mountPath: /x, subPathExpr: '$(POD_NAME)'}\n"),
              "spec.containers[0].volumeMounts[0].subPathExpr");
    EXPECT_EQ(sub_path_error("    - {name: data, mountPath: /x, subPath: '..data/x'}\n"), "no error");
}
