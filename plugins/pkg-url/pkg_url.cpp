// pkg-url: images that are https:// URLs of a .deb named <name>_<version>_<arch>.deb.
// This release validates the URL; downloading and installing through the host's fetch service
// comes with the resolver-plugins milestone and is reported as unsupported until then.
#include <boost/json.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "systemk/plugin.h"

namespace {

namespace json = boost::json;

// The host refuses longer images before asking; the plugin does not rely on that.
constexpr size_t kMaxImage = 4096;
constexpr std::string_view kScheme = "https://";
constexpr std::string_view kExtension = ".deb";

struct DebUrl {
    std::string name, version, arch;
};

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_name_char(char c) { return is_lower_alnum(c) || c == '+' || c == '.' || c == '-'; }
bool is_version_char(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '~' || c == ':' || c == '-';
}
bool all_of(std::string_view s, bool (*pred)(char)) {
    for (char c : s)
        if (!pred(c)) return false;
    return true;
}

// https://HOST/[DIRS/]NAME_VERSION_ARCH.deb, read left to right once (no backtracking): a host
// without '/' or blanks, any directories, then a file name of Debian's three parts.
std::optional<DebUrl> parse_url(std::string_view url) {
    if (url.size() > kMaxImage || !url.starts_with(kScheme) || !url.ends_with(kExtension)) return std::nullopt;
    for (char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
    const auto rest = url.substr(kScheme.size());
    const auto host_end = rest.find('/');
    if (host_end == 0 || host_end == std::string_view::npos) return std::nullopt;
    auto file = rest.substr(rest.rfind('/') + 1);
    if (file.size() <= kExtension.size()) return std::nullopt;
    file.remove_suffix(kExtension.size());
    const auto first = file.find('_'), last = file.rfind('_');
    if (first == std::string_view::npos || first == last) return std::nullopt;
    const auto name = file.substr(0, first), version = file.substr(first + 1, last - first - 1),
               arch = file.substr(last + 1);
    if (name.size() < 2 || !is_lower_alnum(name[0]) || !all_of(name, is_name_char)) return std::nullopt;
    if (version.empty() || !all_of(version, is_version_char)) return std::nullopt;
    if (arch.empty() || !all_of(arch, is_lower_alnum)) return std::nullopt;
    return DebUrl{std::string(name), std::string(version), std::string(arch)};
}

// The image as it may appear in a one-line error: control characters shown as '?', and cut short.
std::string printable(std::string_view image) {
    constexpr size_t kShown = 200;
    std::string out;
    for (char c : image.substr(0, kShown)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (image.size() > kShown) out += "...";
    return out;
}

int claim(void *, const char *image) noexcept {
    if (!image) return 0;
    const std::string_view s(image, strnlen(image, kMaxImage + 1));
    return s.size() <= kMaxImage && s.starts_with(kScheme) && s.ends_with(kExtension) ? 100 : 0;
}

systemk_status resolve(void *, const char *request_json, systemk_output *, systemk_output *error) noexcept {
    try {
        const auto request = json::parse(request_json).as_object();
        const std::string image(request.at("image").as_string());
        const auto url = parse_url(image);
        if (!url) {
            systemk_output_puts(error, ("'" + printable(image) + "' is not an https URL of a file named name_version_arch.deb").c_str());
            return SYSTEMK_ERR_INVALID;
        }
        systemk_output_puts(error, ("installing " + url->name + " " + url->version +
                                    " from a URL is not supported by this version of pkg-url").c_str());
        return SYSTEMK_ERR_UNSUPPORTED;
    } catch (const std::exception &e) {
        systemk_output_puts(error, (std::string("bad request: ") + e.what()).c_str());
        return SYSTEMK_ERR_INVALID;
    } catch (...) {
        systemk_output_puts(error, "unexpected failure");
        return SYSTEMK_ERR_INTERNAL;
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
