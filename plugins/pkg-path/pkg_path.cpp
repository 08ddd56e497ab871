// pkg-path: images that are absolute paths to an executable already on the host.
// Nothing is installed; the path itself is the command.
#include <boost/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>

#include "../pkg-native/plugin_glue.h"
#include "systemk/plugin.h"

namespace {

namespace json = boost::json;

// A path longer than PATH_MAX (terminator included) cannot name a file.
constexpr size_t kMaxPath = PATH_MAX - 1;

// A path of a package file (.rpm, .pkg.tar.*) is left to the resolver that installs it: its
// claim of 100 would otherwise tie with this one, and ties go to the first plugin by name.
bool is_package_file(std::string_view path) {
    const auto base = path.substr(path.rfind('/') + 1);
    return base.ends_with(".rpm") || base.find(".pkg.tar") != std::string_view::npos;
}

int claim(void *, const char *image) noexcept {
    if (!image || image[0] != '/') return 0;
    const auto n = strnlen(image, kMaxPath + 1);
    if (n > kMaxPath) return 0;
    return is_package_file(std::string_view(image, n)) ? 10 : 100;
}

// The path as it may appear in a one-line error: control characters shown as '?', and cut short.
using pkg_native::printable;

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
}

systemk_status resolve(void *, const char *request_json, systemk_output *result, systemk_output *error) noexcept {
    try {
        const auto request = json::parse(request_json).as_object();
        const std::string path(request.at("image").as_string());
        if (path.empty() || path[0] != '/')
            return fail(error, SYSTEMK_ERR_INVALID, "image '" + printable(path) + "' is not an absolute path");
        if (path.size() > kMaxPath)
            return fail(error, SYSTEMK_ERR_INVALID, "image is longer than " + std::to_string(kMaxPath) + " bytes, so it is no path");
        // A NUL would make stat() look at a shorter path than the one the unit would run.
        if (path.find('\0') != std::string::npos)
            return fail(error, SYSTEMK_ERR_INVALID, "image '" + printable(path) + "' contains a NUL byte");
        struct stat st {};
        if (stat(path.c_str(), &st) != 0)
            return fail(error, SYSTEMK_ERR_NOT_FOUND, "image " + printable(path) + ": " + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) return fail(error, SYSTEMK_ERR_INVALID, "image " + printable(path) + " is not a regular file");
        if (access(path.c_str(), X_OK) != 0) return fail(error, SYSTEMK_ERR_INVALID, "image " + printable(path) + " is not executable");
        const json::object out{{"execStart", json::array{json::string(path)}}};
        systemk_output_puts(result, json::serialize(out).c_str());
        return SYSTEMK_OK;
    } catch (const std::exception &e) {
        return fail(error, SYSTEMK_ERR_INVALID, std::string("bad request: ") + e.what());
    } catch (...) {
        return fail(error, SYSTEMK_ERR_INTERNAL, "unexpected failure");
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
