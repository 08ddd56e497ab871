// subPath mounts pinned by descriptor, and the removal of a pod's files.
//
// A container can write into its volumes (emptyDir, hostPath), so anything inside a volume may be
// a symlink it planted: `ln -s / /data/escape` in an init container, then `subPath: escape` in
// the next container would bind-mount the host's root (the kubelet's CVE-2017-1002101). So the
// subPath is resolved by the kernel beneath a descriptor of the volume directory
// (openat2 RESOLVE_BENEATH: no "..", no absolute symlink, no /proc magic link may leave it), and
// the descriptor it yields — not a path a container could swap afterwards — is bind-mounted on the
// pinned path the unit mounts.
//
// Semantics: symlinks inside the volume that resolve beneath it are followed (a configMap's
// "..data" links keep working); any that would leave it (absolute, or ".." past the volume root)
// is refused. Kernels without openat2 (< 5.6) get a stricter walk that refuses every symlink.
// A subPath that does not exist is created as a directory, like the kubelet does, with the
// volume root's owner and mode.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "pods/container_files.h"
#include "pods/pod_layout.h"
#include "pods/spec_error.h"

namespace systemk::pods {
namespace {

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd &operator=(Fd &&o) noexcept {
        std::swap(fd_, o.fd_);
        return *this;
    }
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

std::vector<std::string> components(const std::string &path) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        auto part = path.substr(start, slash - start);
        if (!part.empty() && part != ".") out.push_back(std::move(part));
        start = slash + 1;
    }
    return out;
}

std::string join(const std::vector<std::string> &parts, size_t count) {
    std::string out;
    for (size_t i = 0; i < count; ++i) out += (i ? "/" : "") + parts[i];
    return out;
}

bool openat2_missing = false;  // set once the kernel said ENOSYS (or a test asked for the fallback)

// Opens `rel` (no leading '/', no "..") beneath `root` as an O_PATH descriptor. Returns -1 with
// errno set: EXDEV/ELOOP when the path would leave the volume (or, without openat2, crosses a
// symlink), ENOENT when a component is missing.
int open_beneath(int root, const std::string &rel, int extra_flags) {
    if (!openat2_missing) {
        open_how how{};
        how.flags = static_cast<uint64_t>(O_PATH | O_CLOEXEC | extra_flags);
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        // EAGAIN: a rename raced with a ".." lookup, and the kernel could not vouch for it.
        int fd = -1;
        for (int attempt = 0; attempt < 8; ++attempt) {
            fd = static_cast<int>(syscall(SYS_openat2, root, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
            if (fd >= 0 || errno != EAGAIN) break;
        }
        if (fd >= 0 || errno != ENOSYS) return fd;
        openat2_missing = true;
        spdlog::warn("openat2 is not available (kernel < 5.6): subPaths may not contain any symlink");
    }
    // Component by component, refusing every symlink (we cannot tell where it would lead
    // without resolving it ourselves).
    Fd cur(fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!cur) return -1;
    const auto parts = components(rel);
    for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i] == "..") {
            errno = EXDEV;
            return -1;
        }
        const bool last = i + 1 == parts.size();
        Fd next(openat(cur.get(), parts[i].c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? extra_flags : 0)));
        if (!next) return -1;
        struct stat st {};
        if (fstat(next.get(), &st) != 0) return -1;
        if (S_ISLNK(st.st_mode)) {
            errno = ELOOP;
            return -1;
        }
        cur = std::move(next);
    }
    return cur.release();
}

// Creates the missing tail of `parts` as directories beneath the deepest existing one, each
// with the volume root's owner and mode; every step is relative to a descriptor, never a path.
Fd create_subpath_dirs(int root, const std::vector<std::string> &parts, const std::string &field) {
    struct stat root_st {};
    if (fstat(root, &root_st) != 0) throw SpecError(field, "cannot inspect the volume: " + errno_text(errno));
    size_t existing = parts.size();
    Fd parent;
    while (existing > 0) {
        --existing;
        parent = Fd(open_beneath(root, join(parts, existing), O_DIRECTORY));
        if (parent) break;
        if (errno != ENOENT) throw SpecError(field, "a parent of the subPath is not a directory inside the volume");
    }
    if (!parent) throw SpecError(field, "the volume directory cannot be opened");
    for (size_t i = existing; i < parts.size(); ++i) {
        if (mkdirat(parent.get(), parts[i].c_str(), 0700) != 0 && errno != EEXIST)
            throw SpecError(field, "cannot create the subPath directory: " + errno_text(errno));
        Fd dir(openat(parent.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir) throw SpecError(field, "the subPath changed while it was created (a symlink or a file appeared)");
        if (fchown(dir.get(), root_st.st_uid, root_st.st_gid) != 0 || fchmod(dir.get(), root_st.st_mode & 07777) != 0)
            throw SpecError(field, "cannot set the owner of the subPath directory: " + errno_text(errno));
        parent = std::move(dir);
    }
    return parent;
}

Fd resolve_subpath(const units::SubPathMount &m) {
    Fd root(open(m.volume_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw SpecError(m.field, "the volume directory cannot be opened: " + errno_text(errno));
    Fd target(open_beneath(root.get(), m.sub_path, 0));
    if (target) return target;
    const int err = errno;
    if (err == EXDEV || err == ELOOP)
        throw SpecError(m.field, "subPath '" + m.sub_path + "' leads out of its volume (through a symlink or '..')");
    if (err != ENOENT) throw SpecError(m.field, "subPath '" + m.sub_path + "' cannot be opened: " + errno_text(err));
    const auto parts = components(m.sub_path);
    if (parts.empty()) throw SpecError(m.field, "subPath is empty");
    return create_subpath_dirs(root.get(), parts, m.field);
}

// Makes `dir` and its missing parents exist; what is created here is 0700 (root: the agent).
void make_mount_parents(const std::string &dir, const std::string &field) {
    std::string prefix;
    for (const auto &part : components(dir)) {
        prefix += "/" + part;
        if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
            throw SpecError(field, "cannot create " + prefix + ": " + errno_text(errno));
    }
}

// Unmounts whatever is stacked on `path` (a pin from an earlier start).
void unmount_all(const std::string &path) {
    for (int i = 0; i < 64 && umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0; ++i) {
    }
}

// An empty file or directory at `path` to mount onto, matching the target's type.
void make_mount_point(const std::string &path, bool directory, const std::string &field) {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode) == directory && (directory || S_ISREG(st.st_mode))) return;
        // A stale pin of the other type: an empty mount point. rmdir/unlink never delete what a
        // mount still shows (EBUSY, ENOTEMPTY), unlike a recursive removal would.
        if ((S_ISDIR(st.st_mode) ? rmdir(path.c_str()) : unlink(path.c_str())) != 0)
            throw SpecError(field, "cannot replace the mount point " + path + ": " + errno_text(errno));
    }
    if (directory) {
        if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
            throw SpecError(field, "cannot create the mount point " + path + ": " + errno_text(errno));
        return;
    }
    Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw SpecError(field, "cannot create the mount point " + path + ": " + errno_text(errno));
}

// Mount points below `prefix` in this mount namespace, from /proc/self/mountinfo.
std::vector<std::string> mounts_below(const std::string &prefix) {
    std::vector<std::string> out;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root mount-point ...; octal escapes for space, tab, '\n', '\\'.
        size_t pos = 0;
        for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = line.find(' ', pos + 1);
        if (pos == std::string::npos) continue;
        const auto end = line.find(' ', pos + 1);
        const auto raw = line.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
        std::string point;
        for (size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '\\' && i + 3 < raw.size()) {
                point += static_cast<char>(std::stoi(raw.substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                point += raw[i];
            }
        }
        if (point == prefix || point.rfind(prefix + "/", 0) == 0) out.push_back(point);
    }
    return out;
}

}  // namespace

// For tests: run the walk kernels without openat2 get.
void use_subpath_fallback_for_tests(bool on) { openat2_missing = on; }

void pin_subpaths(const std::vector<units::SubPathMount> &mounts) {
    for (const auto &m : mounts) {
        const auto target = resolve_subpath(m);
        struct stat st {};
        if (fstat(target.get(), &st) != 0) throw SpecError(m.field, "cannot inspect the subPath: " + errno_text(errno));
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode))
            throw SpecError(m.field, "subPath '" + m.sub_path + "' is neither a file nor a directory");
        make_mount_parents(std::filesystem::path(m.pinned_path).parent_path().string(), m.field);
        unmount_all(m.pinned_path);
        make_mount_point(m.pinned_path, S_ISDIR(st.st_mode), m.field);
        const auto source = "/proc/self/fd/" + std::to_string(target.get());
        if (mount(source.c_str(), m.pinned_path.c_str(), nullptr, MS_BIND, nullptr) != 0)
            throw SpecError(m.field, "cannot bind-mount subPath '" + m.sub_path + "': " + errno_text(errno));
    }
}

namespace {

// The mount a descriptor lies on (statx's mount ID: same-filesystem bind mounts differ here,
// while st_dev does not); 0 if unknown.
uint64_t mount_id(int fd) {
    struct statx stx {};
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID))
        return 0;
    return stx.stx_mnt_id;
}

// Removes everything beneath `dir_fd`, never following a symlink and never descending into
// another mount (a pin the unmount pass missed): what such a mount shows is left alone.
// Returns false if anything had to be left.
bool remove_beneath(int dir_fd, uint64_t mnt) {
    const int listing = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing < 0) return false;
    DIR *d = fdopendir(listing);
    if (!d) {
        close(listing);
        return false;
    }
    std::vector<std::pair<std::string, bool>> entries;
    while (const auto *e = readdir(d)) {
        const std::string name(e->d_name);
        if (name == "." || name == "..") continue;
        struct stat st {};
        if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) entries.emplace_back(name, S_ISDIR(st.st_mode));
    }
    closedir(d);
    bool complete = true;
    for (const auto &[name, is_dir] : entries) {
        if (is_dir) {
            Fd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub || mount_id(sub.get()) != mnt || !remove_beneath(sub.get(), mnt)) {
                complete = false;
                continue;
            }
        }
        if (unlinkat(dir_fd, name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0) complete = false;  // EBUSY: a mount point
    }
    return complete;
}

bool remove_tree(const std::string &dir) {
    Fd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return errno == ENOENT;
    const auto mnt = mount_id(root.get());
    if (mnt == 0 || !remove_beneath(root.get(), mnt)) return false;
    return rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

}  // namespace

void remove_pod_files(const NodeContext &node, const std::string &uid) {
    std::string runtime, persistent;
    try {
        runtime = pod_runtime_dir(node, uid);
        persistent = pod_dir(node, uid);
    } catch (const SpecError &) {
        return;  // not a UID we could ever have made directories for
    }
    // Deleting through a pin would delete the volume content (or a hostPath's host files) it
    // shows: every mount below the pod's directories goes first, deepest first. mountinfo names
    // mounts by their canonical path, so compare with the canonical form of ours.
    for (const auto &dir : {runtime, persistent}) {
        std::error_code ec;
        const auto canonical = std::filesystem::weakly_canonical(dir, ec).string();
        auto points = mounts_below(ec ? dir : canonical);
        std::sort(points.begin(), points.end(), [](const auto &a, const auto &b) { return a.size() > b.size(); });
        for (const auto &p : points)
            if (umount2(p.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT)
                spdlog::error("pod uid={} cannot unmount {}: {}", uid, p, errno_text(errno));
        // Removal never crosses into a mount, so whatever the unmount pass missed stays intact.
        if (!remove_tree(dir)) spdlog::error("pod uid={} cannot remove all of {}: something is still mounted or busy", uid, dir);
    }
}

}  // namespace systemk::pods
