// volumes: the built-in pod volume types. emptyDir is a directory per pod and volume, owned by
// the pod's user; hostPath is the host's own path. configMap, secret, projected and downwardAPI
// are planned read-only directories (their content is written by a later release).
#include <boost/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "systemk/plugin.h"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
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
            if (!dry_run)
                return fail(error, SYSTEMK_ERR_UNSUPPORTED, type + " volumes are not supported by this version of the volumes plugin");
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
