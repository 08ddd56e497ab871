#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pods/pod_layout.h"
#include "pods/spec_error.h"

using namespace systemk::pods;

namespace {

NodeContext node() {
    NodeContext n;
    n.state_dir = "/var/lib/systemk";
    n.runtime_dir = "/run/systemk";
    return n;
}

const std::string kUid = "0b0f3b5e-0000-4000-8000-000000000003";

std::string field_of_error(const std::function<void()> &f) {
    try {
        f();
    } catch (const SpecError &e) {
        return e.field();
    }
    return "no error";
}

}  // namespace

TEST(PodLayout, PathsOfOnePod) {
    const auto n = node();
    EXPECT_EQ(pod_dir(n, kUid), "/var/lib/systemk/pods/" + kUid);
    EXPECT_EQ(pod_runtime_dir(n, kUid), "/run/systemk/pods/" + kUid);
    EXPECT_EQ(volume_dir(n, kUid, "cache", false), "/var/lib/systemk/pods/" + kUid + "/volumes/cache");
    EXPECT_EQ(volume_dir(n, kUid, "token", true), "/run/systemk/pods/" + kUid + "/volumes/token");
    EXPECT_EQ(env_file_path(n, kUid, "app"), "/run/systemk/pods/" + kUid + "/env/app.env");
    EXPECT_EQ(subpath_pin_path(n, kUid, "data", "app", 2), "/run/systemk/pods/" + kUid + "/volume-subpaths/data/app/2");
    EXPECT_EQ(subpaths_dir(n, kUid), "/run/systemk/pods/" + kUid + "/volume-subpaths");
}

TEST(PodLayout, HostileUidsAreRefused) {
    const auto n = node();
    const std::vector<std::string> uids{"", "../x", "a/b", "..", ".", "x y", std::string(300, 'a'),
                                        std::string("a\0b", 3), "ä", "a%2fb"};
    for (const auto &uid : uids) {
        EXPECT_EQ(field_of_error([&] { pod_dir(n, uid); }), "metadata.uid") << uid;
        EXPECT_EQ(field_of_error([&] { pod_runtime_dir(n, uid); }), "metadata.uid") << uid;
        EXPECT_EQ(field_of_error([&] { volume_dir(n, uid, "v", true); }), "metadata.uid") << uid;
    }
    EXPECT_EQ(field_of_error([&] { pod_dir(n, std::string(64, 'a')); }), "no error");
}

TEST(PodLayout, HostileVolumeAndContainerNamesAreRefused) {
    const auto n = node();
    const std::vector<std::string> names{"", "../x", "a/b", "..", ".", "UPPER", "-x", "x-", "a.b", std::string(300, 'a'),
                                         std::string("a\0b", 3), "a b"};
    for (const auto &name : names) {
        EXPECT_NE(field_of_error([&] { volume_dir(n, kUid, name, false); }), "no error") << name;
        EXPECT_NE(field_of_error([&] { env_file_path(n, kUid, name); }), "no error") << name;
        EXPECT_NE(field_of_error([&] { subpath_pin_path(n, kUid, name, "app", 0); }), "no error") << name;
        EXPECT_NE(field_of_error([&] { subpath_pin_path(n, kUid, "data", name, 0); }), "no error") << name;
    }
    EXPECT_EQ(field_of_error([&] { validate_path_label("../x", "spec.volumes[3].name"); }), "spec.volumes[3].name");
    EXPECT_EQ(field_of_error([&] { volume_dir(n, kUid, std::string(63, 'a'), false); }), "no error");
}

TEST(PodLayout, PodWithoutUidIsNamedByASanitisedName) {
    EXPECT_EQ(pod_path_id(kUid, "ignored"), kUid);
    EXPECT_EQ(pod_path_id("", "web.example"), "web-example");
    EXPECT_EQ(pod_path_id("", "../../etc"), "------etc");
    EXPECT_EQ(pod_path_id("", std::string(300, 'a')).size(), 64u);
    EXPECT_NO_THROW(validate_pod_uid(pod_path_id("", "a/b/../c")));
}

TEST(PodLayout, PodDirsArePrivate) {
    const auto base = std::filesystem::temp_directory_path() / ("systemk-layout-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(base);
    NodeContext n;
    n.state_dir = (base / "state").string();
    n.runtime_dir = (base / "run").string();
    make_pod_dirs(n, kUid);
    // A directory that exists with a looser mode is tightened.
    chmod(pod_dir(n, kUid).c_str(), 0755);
    make_pod_dirs(n, kUid);
    for (const auto &dir : {n.state_dir + "/pods", n.runtime_dir + "/pods", pod_dir(n, kUid), pod_runtime_dir(n, kUid),
                            pod_dir(n, kUid) + "/volumes", pod_runtime_dir(n, kUid) + "/volumes"}) {
        struct stat st {};
        ASSERT_EQ(lstat(dir.c_str(), &st), 0) << dir;
        EXPECT_TRUE(S_ISDIR(st.st_mode)) << dir;
        EXPECT_EQ(st.st_mode & 07777, 0700u) << dir;
        EXPECT_EQ(st.st_uid, 0u) << dir;
    }
    // A symlink where a pod directory belongs is refused, not followed.
    const auto other = "1111-2222";
    std::filesystem::create_symlink(base, pod_dir(n, other));
    EXPECT_THROW(make_pod_dirs(n, other), std::runtime_error);
    std::filesystem::remove_all(base);
}

TEST(PodLayout, MemoryFileSystemIsRecognised) {
    EXPECT_TRUE(is_on_memory_fs("/dev/shm") || is_on_memory_fs("/run"));
    EXPECT_FALSE(is_on_memory_fs("/proc"));
    EXPECT_FALSE(is_on_memory_fs("/nonexistent/path"));
}
