// pkg-path: images that are absolute paths to an executable already on the host.
// Nothing is installed; the path itself is the command.
#include <boost/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "systemk/plugin.h"

namespace {

namespace json = boost::json;

int claim(void *, const char *image) { return (image && image[0] == '/') ? 100 : 0; }

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
}

systemk_status resolve(void *, const char *request_json, systemk_output *result, systemk_output *error) noexcept {
    try {
        const auto request = json::parse(request_json).as_object();
        const std::string path(request.at("image").as_string());
        if (path.empty() || path[0] != '/') return fail(error, SYSTEMK_ERR_INVALID, "image '" + path + "' is not an absolute path");
        struct stat st {};
        if (stat(path.c_str(), &st) != 0)
            return fail(error, SYSTEMK_ERR_NOT_FOUND, "image " + path + ": " + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) return fail(error, SYSTEMK_ERR_INVALID, "image " + path + " is not a regular file");
        if (access(path.c_str(), X_OK) != 0) return fail(error, SYSTEMK_ERR_INVALID, "image " + path + " is not executable");
        const json::object out{{"execStart", json::array{json::string(path)}}};
        systemk_output_puts(result, json::serialize(out).c_str());
        return SYSTEMK_OK;
    } catch (const std::exception &e) {
        return fail(error, SYSTEMK_ERR_INVALID, std::string("bad request: ") + e.what());
    }
}

systemk_status release(void *, const char *, systemk_output *) noexcept { return SYSTEMK_OK; }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"/absolute/path/to/executable", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-path", "0.1.0", "runs an executable already on the host; installs nothing",
    kHandles, nullptr, nullptr, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
