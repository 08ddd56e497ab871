// pkg-url: images that are https:// URLs of a .deb named <name>_<version>_<arch>.deb.
// This release validates the URL; downloading and installing through the host's fetch service
// comes with the resolver-plugins milestone and is reported as unsupported until then.
#include <boost/json.hpp>

#include <regex>
#include <string>

#include "systemk/plugin.h"

namespace {

namespace json = boost::json;

const std::regex &url_pattern() {
    static const std::regex re(R"(https://[^\s/]+/(.*/)?([a-z0-9][a-z0-9+.\-]+)_([A-Za-z0-9.+~:\-]+)_([a-z0-9]+)\.deb)");
    return re;
}

int claim(void *, const char *image) {
    if (!image) return 0;
    const std::string s(image);
    return s.rfind("https://", 0) == 0 && s.size() > 4 && s.compare(s.size() - 4, 4, ".deb") == 0 ? 100 : 0;
}

systemk_status resolve(void *, const char *request_json, systemk_output *, systemk_output *error) noexcept {
    try {
        const auto request = json::parse(request_json).as_object();
        const std::string image(request.at("image").as_string());
        std::smatch m;
        if (!std::regex_match(image, m, url_pattern())) {
            systemk_output_puts(error, ("'" + image + "' is not an https URL of a file named name_version_arch.deb").c_str());
            return SYSTEMK_ERR_INVALID;
        }
        systemk_output_puts(error, ("installing " + std::string(m[2]) + " " + std::string(m[3]) +
                                    " from a URL is not supported by this version of pkg-url").c_str());
        return SYSTEMK_ERR_UNSUPPORTED;
    } catch (const std::exception &e) {
        systemk_output_puts(error, (std::string("bad request: ") + e.what()).c_str());
        return SYSTEMK_ERR_INVALID;
    }
}

systemk_status release(void *, const char *, systemk_output *) noexcept { return SYSTEMK_OK; }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"https://.../name_version_arch.deb", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-url", "0.1.0", "Debian packages downloaded from an https URL",
    kHandles, nullptr, nullptr, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
