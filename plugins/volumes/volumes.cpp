// volumes: the built-in pod volume types. emptyDir is a directory per pod and volume, owned by
// the pod's user and fsGroup, never world-writable; hostPath is the host's own path; configMap,
// secret, downwardAPI and projected are read-only directories of files written from the data the
// host resolved, kept current on every prepare (each file replaced atomically, files no longer
// projected removed). The host picks the directory (tmpfs for secrets); every file operation
// here goes through directory descriptors and never follows a symlink found inside a volume.
#include <boost/json.hpp>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

std::string write_files(const std::string &dir, const std::vector<File> &files, const Owner &owner) {
    std::string problem;
    const auto root = open_volume_dir(dir, owner, 0750, problem);
    if (!root) return problem;
    std::set<std::string> wanted, wanted_dirs;
    for (const auto &f : files) {
        wanted.insert(f.path);
        for (auto slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1))
            wanted_dirs.insert(f.path.substr(0, slash));
    }
    // What is no longer projected goes first, so that a file may become a directory (or the
    // other way round) between two versions; what stays is replaced atomically below.
    remove_stale(root.get(), "", wanted, wanted_dirs);
    for (const auto &f : files) {
        const auto parts = split_path(f.path);
        Fd parent(dup(root.get()));
        std::string rel;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
            rel += (rel.empty() ? "" : "/") + parts[i];
            parent = open_subdir(parent.get(), parts[i], owner, 0750, rel, problem);
            if (!parent) return problem;
        }
        if (auto failure = replace_file(parent.get(), parts.back(), f, owner); !failure.empty()) return failure;
    }
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

// hostPath's `type` check, as the kubelet does it.
std::string check_host_path(const std::string &path, const std::string &type, bool dry_run) {
    struct stat st {};
    const bool present = stat(path.c_str(), &st) == 0;
    if (type.empty()) return {};
    if (type == "DirectoryOrCreate") {
        if (!present && !dry_run) {
            std::error_code ec;
            fs::create_directories(path, ec);
            if (ec) return "cannot create " + path + ": " + ec.message();
        }
        return {};
    }
    if (type == "FileOrCreate") return {};
    if (!present) return path + " does not exist (hostPath type " + type + ")";
    if (type == "Directory" && !S_ISDIR(st.st_mode)) return path + " is not a directory";
    if (type == "File" && !S_ISREG(st.st_mode)) return path + " is not a file";
    if (type == "Socket" && !S_ISSOCK(st.st_mode)) return path + " is not a socket";
    if (type == "CharDevice" && !S_ISCHR(st.st_mode)) return path + " is not a character device";
    if (type == "BlockDevice" && !S_ISBLK(st.st_mode)) return path + " is not a block device";
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
                std::string problem;
                if (!open_volume_dir(directory, owner, owner.fs_group ? 02770 : 0750, problem))
                    return fail(error, SYSTEMK_ERR_INTERNAL, problem);
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
