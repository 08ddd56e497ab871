// volumes: the built-in pod volume types. emptyDir is a directory per pod and volume, owned by
// the pod's user and fsGroup, never world-writable; hostPath is the host's own path; configMap,
// secret, downwardAPI and projected are read-only directories of files written from the data the
// host resolved, kept current on every prepare: each version is written complete into a new
// directory and made visible by one symlink swap (the kubelet's AtomicWriter layout). The host picks the directory (tmpfs for secrets); every file operation
// here goes through directory descriptors and never follows a symlink found inside a volume.
#include <boost/json.hpp>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "systemk/plugin.h"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
}

std::string base64_decode(const std::string &in) {
    static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned value = 0;
    int bits = -8;
    for (char c : in) {
        if (c == '=') break;
        const auto pos = chars.find(c);
        if (pos == std::string::npos) throw std::invalid_argument("invalid base64 data");
        value = (value << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 0) {
            out += static_cast<char>((value >> bits) & 0xFF);
            bits -= 8;
        }
    }
    return out;
}

struct File {
    std::string path;
    std::string content;
    int mode;
};

// A projected path must stay inside the volume: relative, no "..", no empty components.
bool is_safe_relative_path(const std::string &path) {
    if (path.empty() || path[0] == '/' || path.size() > 4096) return false;
    size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (part.empty() || part == "." || part == ".." || part.rfind("..", 0) == 0) return false;
        if (part.find('\0') != std::string::npos) return false;
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return true;
}

std::vector<std::string> split_path(const std::string &path) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', start)) {
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    parts.push_back(path.substr(start));
    return parts;
}

// A file mode from the pod spec: 0 to 0777 as the API server allows; anything else is an error,
// never silently replaced by a default.
int mode_of(const json::object &o, const char *key, int fallback) {
    const auto *m = o.if_contains(key);
    if (!m || m->is_null()) return fallback;
    if (!m->is_int64() || m->get_int64() < 0 || m->get_int64() > 0777)
        throw std::invalid_argument(std::string(key) + " must be a file mode between 0 and 0777");
    return static_cast<int>(m->get_int64());
}

// data (key -> base64) + items ([{key, path, mode}]) -> files. Without items every key is a file.
std::string collect_files(const json::object &data, const json::value *items, int default_mode, bool optional,
                          std::vector<File> &files) {
    if (items && items->is_array() && !items->get_array().empty()) {
        for (const auto &it : items->get_array()) {
            const auto &item = it.as_object();
            const std::string key(item.at("key").as_string());
            const std::string path(item.at("path").as_string());
            const auto *value = data.if_contains(key);
            if (!value) {
                if (optional) continue;
                return "key '" + key + "' is not in the referenced object";
            }
            if (!is_safe_relative_path(path)) return "item path '" + path + "' would leave the volume";
            files.push_back({path, base64_decode(std::string(value->as_string())), mode_of(item, "mode", default_mode)});
        }
        return {};
    }
    for (const auto &kv : data) {
        const std::string key(kv.key());
        // Kubernetes keys are [-._a-zA-Z0-9]+; anything else (a hostile key) is refused.
        if (!is_safe_relative_path(key) || key.find('/') != std::string::npos) return "key '" + key + "' is not a valid file name";
        files.push_back({key, base64_decode(std::string(kv.value().as_string())), default_mode});
    }
    return {};
}

// Who owns a volume and its files: the pod's user (else root) and group (fsGroup, else
// runAsGroup, else root). fsGroup also widens modes the way the kubelet's SetVolumeOwnership does.
struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
    bool fs_group = false;
};

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
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_;
};

std::string errno_text() { return std::strerror(errno); }

// Sets owner and mode of an open file or directory (chown first: it clears set-id bits).
std::string own(int fd, const Owner &owner, mode_t mode, const std::string &what) {
    if (fchown(fd, owner.uid, owner.gid) != 0) return "cannot chown " + what + ": " + errno_text();
    if (fchmod(fd, mode) != 0) return "cannot chmod " + what + ": " + errno_text();
    return {};
}

// Creates (or reuses) `name` beneath `parent` as a directory, never following a symlink.
Fd open_subdir(int parent, const std::string &name, const Owner &owner, mode_t mode, const std::string &what,
               std::string &problem) {
    if (mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
        problem = "cannot create " + what + ": " + errno_text();
        return Fd();
    }
    Fd fd(openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        problem = (errno == ELOOP || errno == ENOTDIR) ? what + " is not a directory" : "cannot open " + what + ": " + errno_text();
        return Fd();
    }
    problem = own(fd.get(), owner, mode, what);
    return problem.empty() ? std::move(fd) : Fd();
}

// The volume's own directory: its parents belong to the host (0700 root pod directories).
Fd open_volume_dir(const std::string &dir, const Owner &owner, mode_t mode, std::string &problem) {
    const auto parent = fs::path(dir).parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) {
        problem = "cannot create " + parent.string() + ": " + ec.message();
        return Fd();
    }
    Fd parent_fd(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd) {
        problem = "cannot open " + parent.string() + ": " + errno_text();
        return Fd();
    }
    return open_subdir(parent_fd.get(), fs::path(dir).filename().string(), owner, mode, dir, problem);
}

bool write_all(int fd, const std::string &content) {
    size_t done = 0;
    while (done < content.size()) {
        const auto n = write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// Replaces `name` in `dir_fd` atomically: a fresh temporary file (O_EXCL|O_NOFOLLOW, so nothing
// planted under its name is followed or reused), owned and moded before it gets its name.
std::string replace_file(int dir_fd, const std::string &name, const File &f, const Owner &owner) {
    const auto tmp = ".." + name + ".tmp";
    if (unlinkat(dir_fd, tmp.c_str(), 0) != 0 && errno != ENOENT) return "cannot remove stale " + tmp + ": " + errno_text();
    Fd fd(openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return "cannot create " + f.path + ": " + errno_text();
    auto mode = static_cast<mode_t>(f.mode);
    if (owner.fs_group) mode |= 0440;  // the kubelet makes read-only volume files group-readable
    std::string problem;
    if (!write_all(fd.get(), f.content))
        problem = "cannot write " + f.path + ": " + errno_text();
    else
        problem = own(fd.get(), owner, mode, f.path);
    if (problem.empty() && renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0)
        problem = "cannot replace " + f.path + ": " + errno_text();
    if (!problem.empty()) unlinkat(dir_fd, tmp.c_str(), 0);
    return problem;
}

// Removes every entry beneath `dir_fd` that is neither a wanted file nor a directory leading to
// one. Symlinks and other entries are removed as themselves, never followed.
void remove_stale(int dir_fd, const std::string &prefix, const std::set<std::string> &wanted,
                  const std::set<std::string> &wanted_dirs) {
    const int listing = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing < 0) return;
    DIR *d = fdopendir(listing);  // owns `listing` from here on
    if (!d) {
        close(listing);
        return;
    }
    std::vector<std::pair<std::string, bool>> entries;
    while (const auto *e = readdir(d)) {
        const std::string name(e->d_name);
        if (name == "." || name == "..") continue;
        struct stat st {};
        if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        entries.emplace_back(name, S_ISDIR(st.st_mode));
    }
    closedir(d);
    for (const auto &[name, is_dir] : entries) {
        const auto rel = prefix + name;
        if (!is_dir) {
            if (!wanted.contains(rel)) unlinkat(dir_fd, name.c_str(), 0);
            continue;
        }
        Fd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) remove_stale(sub.get(), rel + "/", wanted, wanted_dirs);
        if (!wanted_dirs.contains(rel)) unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
    }
}

// Removes `name` beneath `dir_fd` as itself: a file or symlink is unlinked, a directory is
// emptied (never following a symlink inside) and removed.
void remove_entry(int dir_fd, const std::string &name) {
    struct stat st {};
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        Fd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) remove_stale(sub.get(), "", {}, {});
        unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
    } else {
        unlinkat(dir_fd, name.c_str(), 0);
    }
}

std::vector<std::string> entries_of(int dir_fd) {
    std::vector<std::string> names;
    const int listing = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing < 0) return names;
    DIR *d = fdopendir(listing);  // owns `listing` from here on
    if (!d) {
        close(listing);
        return names;
    }
    while (const auto *e = readdir(d))
        if (std::string n = e->d_name; n != "." && n != "..") names.push_back(std::move(n));
    closedir(d);
    return names;
}

// Points `name` in `dir_fd` at `target` by one rename, so the name never goes missing.
std::string swap_symlink(int dir_fd, const std::string &name, const std::string &target) {
    const std::string tmp = "..swap.tmp";
    unlinkat(dir_fd, tmp.c_str(), 0);
    if (symlinkat(target.c_str(), dir_fd, tmp.c_str()) != 0) return "cannot create a link for " + name + ": " + errno_text();
    if (renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
        const int err = errno;
        unlinkat(dir_fd, tmp.c_str(), 0);
        errno = err;
        return "cannot replace " + name + ": " + errno_text();
    }
    return {};
}

// A fresh, empty "..<UTC time>" directory for one version of the content.
std::string make_version_dir(int root, const Owner &owner, std::string &problem) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long>(ts.tv_nsec));
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string name = std::string(stamp) + (attempt ? "." + std::to_string(attempt) : "");
        if (mkdirat(root, name.c_str(), 0700) != 0) {
            if (errno == EEXIST) continue;
            problem = "cannot create a version directory: " + errno_text();
            return {};
        }
        Fd fd(openat(root, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            problem = "cannot open a version directory: " + errno_text();
            return {};
        }
        problem = own(fd.get(), owner, 0750, name);
        return problem.empty() ? name : std::string();
    }
    problem = "cannot create a version directory: too many with the same time";
    return {};
}

// The kubelet's AtomicWriter layout, so that a reader never sees a mix of two versions:
//   <dir>/..<time>/            one complete version of the files
//   <dir>/..data -> ..<time>   swapped by one rename when a new version is complete
//   <dir>/<name> -> ..data/<name>   for every top-level name, what containers open
// Keys never start with "..", so no key can collide with these entries.
std::string write_files(const std::string &dir, const std::vector<File> &files, const Owner &owner) {
    std::string problem;
    const auto root = open_volume_dir(dir, owner, 0750, problem);
    if (!root) return problem;
    const auto version = make_version_dir(root.get(), owner, problem);
    if (version.empty()) return problem;
    std::set<std::string> top;
    {
        Fd base(openat(root.get(), version.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!base) problem = "cannot open " + version + ": " + errno_text();
        for (const auto &f : files) {
            if (!problem.empty()) break;
            const auto parts = split_path(f.path);
            top.insert(parts.front());
            Fd parent(dup(base.get()));
            std::string rel;
            for (size_t i = 0; i + 1 < parts.size() && problem.empty(); ++i) {
                rel += (rel.empty() ? "" : "/") + parts[i];
                parent = open_subdir(parent.get(), parts[i], owner, 0750, rel, problem);
            }
            if (problem.empty()) problem = replace_file(parent.get(), parts.back(), f, owner);
        }
    }
    if (problem.empty()) problem = swap_symlink(root.get(), "..data", version);
    if (!problem.empty()) {
        remove_entry(root.get(), version);  // the previous version stays in place
        return problem;
    }
    // The new version is live. Top-level names now point into it (a real file or directory of
    // an older layout is replaced); names no longer projected and older versions go.
    for (const auto &name : top) {
        char target[4096];
        const auto n = readlinkat(root.get(), name.c_str(), target, sizeof target);
        if (n > 0 && std::string(target, static_cast<size_t>(n)) == "..data/" + name) continue;
        struct stat st {};
        if (fstatat(root.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) remove_entry(root.get(), name);
        if (auto failure = swap_symlink(root.get(), name, "..data/" + name); !failure.empty()) return failure;
    }
    for (const auto &name : entries_of(root.get()))
        if (name != "..data" && name != version && !top.contains(name)) remove_entry(root.get(), name);
    return {};
}

Owner owner_of(const json::object &request) {
    auto id = [&](const char *key) -> int64_t {
        const auto *v = request.if_contains(key);
        if (!v || !v->is_int64() || v->get_int64() < 0) return 0;  // unset: root
        if (v->get_int64() > 0xfffffffe) throw std::invalid_argument(std::string(key) + " is not a valid id");
        return v->get_int64();
    };
    const auto *fs_group = request.if_contains("fsGroup");
    return {static_cast<uid_t>(id("uid")), static_cast<gid_t>(id("gid")), fs_group && fs_group->is_bool() && fs_group->get_bool()};
}

bool is_projected_type(const std::string &type) {
    return type == "configMap" || type == "secret" || type == "projected" || type == "downwardAPI";
}

// hostPath's `type` check, as the kubelet does it: the *OrCreate types make what is missing
// (parents too; a file empty, 0644) and, like the others, refuse something of another kind.
std::string check_host_path(const std::string &path, const std::string &type, bool dry_run) {
    struct stat st {};
    bool present = stat(path.c_str(), &st) == 0;
    if (type.empty()) return {};
    if (!present && !dry_run && (type == "DirectoryOrCreate" || type == "FileOrCreate")) {
        std::error_code ec;
        fs::create_directories(type == "FileOrCreate" ? fs::path(path).parent_path() : fs::path(path), ec);
        if (ec) return "cannot create " + path + ": " + ec.message();
        if (type == "FileOrCreate") {
            Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
            if (!fd && errno != EEXIST) return "cannot create " + path + ": " + errno_text();
        }
        present = stat(path.c_str(), &st) == 0;
    }
    if (!present) {
        if (dry_run && (type == "DirectoryOrCreate" || type == "FileOrCreate")) return {};
        return path + " does not exist (hostPath type " + type + ")";
    }
    if ((type == "Directory" || type == "DirectoryOrCreate") && !S_ISDIR(st.st_mode)) return path + " is not a directory (hostPath type " + type + ")";
    if ((type == "File" || type == "FileOrCreate") && !S_ISREG(st.st_mode)) return path + " is not a regular file (hostPath type " + type + ")";
    if (type == "Socket" && !S_ISSOCK(st.st_mode)) return path + " is not a socket (hostPath type Socket)";
    if (type == "CharDevice" && !S_ISCHR(st.st_mode)) return path + " is not a character device (hostPath type CharDevice)";
    if (type == "BlockDevice" && !S_ISBLK(st.st_mode)) return path + " is not a block device (hostPath type BlockDevice)";
    static const std::set<std::string> known{"DirectoryOrCreate", "Directory", "FileOrCreate", "File",
                                             "Socket", "CharDevice", "BlockDevice"};
    if (!known.contains(type)) return "hostPath type '" + type + "' is not a valid type";
    return {};
}

// A Kubernetes quantity ("64Mi", "1G", "500000", "1.5Gi", "1e9") in bytes, rounded up; -1 when
// it is not one.
long long quantity_bytes(const std::string &q) {
    static const std::pair<const char *, long double> suffixes[] = {
        {"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L}, {"Pi", 1125899906842624.0L},
        {"Ei", 1152921504606846976.0L}, {"k", 1e3L}, {"M", 1e6L}, {"G", 1e9L}, {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}};
    if (q.empty() || q.size() > 64) return -1;
    size_t end = 0;
    while (end < q.size() && (std::isdigit(static_cast<unsigned char>(q[end])) || q[end] == '.')) ++end;
    if (end == 0 || std::count(q.begin(), q.begin() + static_cast<long>(end), '.') > 1 || q.substr(0, end) == ".") return -1;
    long double value = std::stold(q.substr(0, end));
    const auto rest = q.substr(end);
    if (!rest.empty()) {
        bool matched = false;
        for (const auto &[suffix, factor] : suffixes)
            if (rest == suffix) {
                value *= factor;
                matched = true;
            }
        if (!matched && (rest[0] == 'e' || rest[0] == 'E') && rest.size() > 1 && rest.size() < 4 &&
            std::all_of(rest.begin() + 1, rest.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            value *= std::pow(10.0L, std::stoi(rest.substr(1)));
            matched = true;
        }
        if (!matched) return -1;
    }
    if (value > 9e18L) return -1;
    return static_cast<long long>(std::ceil(value));
}

bool is_mount_point(const std::string &dir) {
    struct stat here {}, parent {};
    if (lstat(dir.c_str(), &here) != 0 || lstat((dir + "/..").c_str(), &parent) != 0) return false;
    return here.st_dev != parent.st_dev;
}

// emptyDir medium: Memory is a tmpfs of its own, as large as sizeLimit (the kubelet's way), so
// the pod cannot fill the runtime directory's file system. Mounted once; a re-prepare (agent
// restart) finds it mounted and leaves its content alone.
std::string mount_memory_dir(const std::string &dir, const json::object &source, const Owner &owner, mode_t mode) {
    std::string options = "mode=" + ([&] {
        char m[8];
        std::snprintf(m, sizeof m, "%o", static_cast<unsigned>(mode));
        return std::string(m);
    })() + ",uid=" + std::to_string(owner.uid) + ",gid=" + std::to_string(owner.gid);
    if (const auto *limit = source.if_contains("sizeLimit"); limit && !limit->is_null()) {
        const auto bytes = limit->is_string() ? quantity_bytes(std::string(limit->get_string()))
                                              : (limit->is_int64() ? limit->get_int64() : -1);
        if (bytes <= 0) return "emptyDir sizeLimit must be a positive quantity";
        options += ",size=" + std::to_string(bytes);
    }
    if (is_mount_point(dir)) return {};
    if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
        return "cannot mount a tmpfs for the emptyDir: " + errno_text();
    return {};
}

systemk_status prepare(void *, const char *request_json, systemk_output *result, systemk_output *error) noexcept {
    try {
        const auto request = json::parse(request_json).as_object();
        const std::string type(request.at("type").as_string());
        const std::string directory(request.at("directory").as_string());
        const auto &volume = request.at("volume").as_object();
        const bool dry_run = request.contains("dryRun") && request.at("dryRun").as_bool();
        json::object out;
        if (type == "hostPath") {
            const auto &source = volume.at("hostPath").as_object();
            const std::string path(source.at("path").as_string());
            if (path.empty() || path[0] != '/') return fail(error, SYSTEMK_ERR_INVALID, "hostPath.path must be absolute");
            const std::string kind = source.contains("type") ? std::string(source.at("type").as_string()) : "";
            if (const auto problem = check_host_path(path, kind, dry_run); !problem.empty())
                return fail(error, SYSTEMK_ERR_NOT_FOUND, problem);
            out = {{"path", path}, {"readOnly", false}};
        } else if (type == "emptyDir") {
            if (!dry_run) {
                // Not world-writable: the pod's user owns it; with fsGroup the group may write
                // too and new files inherit the group (setgid), like the kubelet's fsGroup.
                const auto owner = owner_of(request);
                const mode_t mode = owner.fs_group ? 02770 : 0750;
                std::string problem;
                if (!open_volume_dir(directory, owner, mode, problem)) return fail(error, SYSTEMK_ERR_INTERNAL, problem);
                const auto *source = volume.at("emptyDir").if_object();
                const auto *medium = source ? source->if_contains("medium") : nullptr;
                if (medium && medium->is_string() && medium->get_string() == "Memory") {
                    problem = mount_memory_dir(directory, *source, owner, mode);
                    if (!problem.empty()) return fail(error, SYSTEMK_ERR_INVALID, problem);
                }
            }
            out = {{"path", directory}, {"readOnly", false}};
        } else if (is_projected_type(type)) {
            if (!dry_run) {
                const auto &source = volume.at(type).as_object();
                const int default_mode = mode_of(source, "defaultMode", 0644);
                const bool optional = source.contains("optional") && source.at("optional").as_bool();
                std::vector<File> files;
                std::string problem;
                if (type == "projected") {
                    for (const auto &src : request.at("sources").as_array()) {
                        const auto &s = src.as_object();
                        problem = collect_files(s.at("data").as_object(), s.if_contains("items"), default_mode, false, files);
                        if (!problem.empty()) break;
                    }
                } else {
                    problem = collect_files(request.at("data").as_object(), source.if_contains("items"), default_mode,
                                            optional, files);
                }
                if (!problem.empty()) return fail(error, SYSTEMK_ERR_INVALID, type + " volume: " + problem);
                if (const auto failure = write_files(directory, files, owner_of(request)); !failure.empty())
                    return fail(error, SYSTEMK_ERR_INTERNAL, failure);
            }
            out = {{"path", directory}, {"readOnly", true}};
        } else {
            return fail(error, SYSTEMK_ERR_UNSUPPORTED, "volume type " + type + " is not handled here");
        }
        systemk_output_puts(result, json::serialize(out).c_str());
        return SYSTEMK_OK;
    } catch (const std::exception &e) {
        return fail(error, SYSTEMK_ERR_INVALID, std::string("bad request: ") + e.what());
    }
}

systemk_status cleanup(void *, const char *request_json, systemk_output *error) noexcept {
    try {
        const auto request = json::parse(request_json).as_object();
        const std::string type(request.at("type").as_string());
        if (type == "hostPath") return SYSTEMK_OK;  // never remove the host's own files
        const std::string directory(request.at("directory").as_string());
        // A memory emptyDir's tmpfs goes first, so nothing below is removed through a mount.
        if (is_mount_point(directory) && umount2(directory.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
            return fail(error, SYSTEMK_ERR_TRANSIENT, "cannot unmount " + directory + ": " + errno_text());
        std::error_code ec;
        fs::remove_all(directory, ec);
        if (ec) return fail(error, SYSTEMK_ERR_TRANSIENT, "cannot remove " + directory + ": " + ec.message());
        return SYSTEMK_OK;
    } catch (const std::exception &e) {
        return fail(error, SYSTEMK_ERR_INVALID, std::string("bad request: ") + e.what());
    }
}

const systemk_volume_ops kOps = {sizeof(systemk_volume_ops), &prepare, &cleanup};
const char *const kHandles[] = {"emptyDir", "hostPath", "configMap", "secret", "projected", "downwardAPI", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_VOLUME_HANDLER,
    "volumes", "0.1.0", "built-in pod volume types",
    kHandles, nullptr, nullptr, nullptr, &kOps};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
