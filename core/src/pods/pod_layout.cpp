#include "pods/pod_layout.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "pods/spec_error.h"

namespace systemk::pods {

void validate_pod_uid(const std::string &uid) {
    if (uid.empty() || uid.size() > 64) throw SpecError("metadata.uid", "must be 1 to 64 characters");
    for (char c : uid)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            throw SpecError("metadata.uid", "may contain only letters, digits and '-'");
}

void validate_path_label(const std::string &name, const std::string &field) {
    if (name.empty() || name.size() > 63) throw SpecError(field, "must be 1 to 63 characters");
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            throw SpecError(field, "'" + name.substr(0, 63) + "' is not a DNS label (a-z, 0-9, '-')");
    if (name.front() == '-' || name.back() == '-') throw SpecError(field, "must start and end with a letter or digit");
}

std::string pod_dir(const NodeContext &node, const std::string &uid) {
    validate_pod_uid(uid);
    return node.state_dir + "/pods/" + uid;
}

std::string pod_runtime_dir(const NodeContext &node, const std::string &uid) {
    validate_pod_uid(uid);
    return node.runtime_dir + "/pods/" + uid;
}

std::string volume_dir(const NodeContext &node, const std::string &uid, const std::string &volume, bool sensitive) {
    validate_path_label(volume, "spec.volumes.name");
    return (sensitive ? pod_runtime_dir(node, uid) : pod_dir(node, uid)) + "/volumes/" + volume;
}

std::string env_file_path(const NodeContext &node, const std::string &uid, const std::string &container) {
    validate_path_label(container, "name");
    return pod_runtime_dir(node, uid) + "/env/" + container + ".env";
}

std::string subpath_pin_path(const NodeContext &node, const std::string &uid, const std::string &volume,
                             const std::string &container, size_t mount_index) {
    validate_path_label(volume, "volumeMounts.name");
    validate_path_label(container, "name");
    return pod_runtime_dir(node, uid) + "/volume-subpaths/" + volume + "/" + container + "/" + std::to_string(mount_index);
}

std::string volume_record_path(const NodeContext &node, const std::string &uid) {
    return pod_dir(node, uid) + "/volumes.json";
}

std::vector<std::string> pod_uids_on_disk(const NodeContext &node) {
    std::set<std::string> uids;
    for (const auto &base : {node.state_dir, node.runtime_dir}) {
        std::error_code ec;
        for (std::filesystem::directory_iterator it(base + "/pods", ec), end; !ec && it != end; it.increment(ec)) {
            const auto name = it->path().filename().string();
            try {
                validate_pod_uid(name);
                uids.insert(name);
            } catch (const SpecError &) {
                // not one of ours: left alone
            }
        }
    }
    return {uids.begin(), uids.end()};
}

std::string subpaths_dir(const NodeContext &node, const std::string &uid) {
    return pod_runtime_dir(node, uid) + "/volume-subpaths";
}

std::string pod_path_id(const std::string &uid, const std::string &name) {
    if (!uid.empty()) return uid;
    std::string out = name.substr(0, 64);
    for (char &c : out)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) c = '-';
    return out;
}

namespace {

// One 0700 root directory; an existing one must be a real directory (never a symlink).
void make_private_dir(const std::string &path) {
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error(path + " exists and is not a directory");
    if ((st.st_uid != 0 || st.st_gid != 0) && lchown(path.c_str(), 0, 0) != 0)
        throw std::runtime_error("cannot chown " + path + ": " + std::strerror(errno));
    if ((st.st_mode & 07777) != 0700 && chmod(path.c_str(), 0700) != 0)
        throw std::runtime_error("cannot chmod " + path + ": " + std::strerror(errno));
}

}  // namespace

void make_pod_dirs(const NodeContext &node, const std::string &uid) {
    const auto persistent = pod_dir(node, uid), runtime = pod_runtime_dir(node, uid);
    for (const auto &base : {node.state_dir, node.runtime_dir}) {
        std::error_code ec;
        std::filesystem::create_directories(base, ec);
        if (ec) throw std::runtime_error("cannot create " + base + ": " + ec.message());
        make_private_dir(base + "/pods");
    }
    for (const auto &dir : {persistent, persistent + "/volumes", runtime, runtime + "/volumes"}) make_private_dir(dir);
}

bool is_on_memory_fs(const std::string &path) {
    struct statfs fs {};
    if (statfs(path.c_str(), &fs) != 0) return false;
    return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

}  // namespace systemk::pods
