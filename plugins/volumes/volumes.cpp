// volumes: the built-in pod volume types. emptyDir is a directory per pod and volume, owned by
// the pod's user; hostPath is the host's own path; configMap, secret, downwardAPI and projected
// are read-only directories of files written from the data the host resolved, kept current on
// every prepare (each file replaced atomically, files no longer projected removed).
#include <boost/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>
#include <string>

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

int mode_of(const json::object &o, const char *key, int fallback) {
    const auto *m = o.if_contains(key);
    return (m && m->is_int64() && m->get_int64() >= 0 && m->get_int64() <= 0777) ? static_cast<int>(m->get_int64()) : fallback;
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

std::string write_files(const std::string &dir, const std::vector<File> &files, int64_t uid, int64_t gid) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return "cannot create " + dir + ": " + ec.message();
    chmod(dir.c_str(), 0755);
    std::set<std::string> wanted;
    for (const auto &f : files) {
        const auto target = fs::path(dir) / f.path;
        fs::create_directories(target.parent_path(), ec);
        const auto tmp = target.parent_path() / (".." + target.filename().string() + ".tmp");
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(f.content.data(), static_cast<std::streamsize>(f.content.size()));
            if (!out) return "cannot write " + tmp.string();
        }
        chmod(tmp.c_str(), static_cast<mode_t>(f.mode));
        if ((uid >= 0 || gid >= 0) && chown(tmp.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
            return "cannot chown " + tmp.string() + ": " + std::strerror(errno);
        fs::rename(tmp, target, ec);
        if (ec) return "cannot replace " + target.string() + ": " + ec.message();
        wanted.insert(target.string());
    }
    std::vector<fs::path> stale;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
        if (it->is_regular_file() && !wanted.contains(it->path().string())) stale.push_back(it->path());
    for (const auto &p : stale) fs::remove(p, ec);
    return {};
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
                std::error_code ec;
                fs::create_directories(directory, ec);
                if (ec) return fail(error, SYSTEMK_ERR_INTERNAL, "cannot create " + directory + ": " + ec.message());
                // Like the kubelet: world-writable so that any container user can use it.
                chmod(directory.c_str(), 01777);
                const auto uid = request.contains("uid") ? request.at("uid").as_int64() : -1;
                const auto gid = request.contains("gid") ? request.at("gid").as_int64() : -1;
                if ((uid >= 0 || gid >= 0) && chown(directory.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
                    return fail(error, SYSTEMK_ERR_INTERNAL, "cannot chown " + directory + ": " + std::strerror(errno));
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
                    const json::value *items = type == "downwardAPI" ? source.if_contains("items") : source.if_contains("items");
                    problem = collect_files(request.at("data").as_object(), items, default_mode, optional, files);
                }
                if (!problem.empty()) return fail(error, SYSTEMK_ERR_INVALID, type + " volume: " + problem);
                const auto uid = request.contains("uid") ? request.at("uid").as_int64() : -1;
                const auto gid = request.contains("gid") ? request.at("gid").as_int64() : -1;
                if (const auto failure = write_files(directory, files, uid, gid); !failure.empty())
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
