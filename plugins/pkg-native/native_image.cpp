#include "native_image.h"

namespace pkg_native {
namespace {

constexpr size_t kMaxImage = 4096;

// RPM and pacman names: letters, digits and ._+- (both allow upper case, unlike Debian).
bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
           c == '-';
}
bool is_version_char(char c) { return is_name_char(c) || c == ':' || c == '~' || c == '^'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_url_char(char c) { return c > 0x20 && c < 0x7f && c != '#'; }

}  // namespace

std::optional<NativeImage> parse_native_image(std::string_view image, bool (*is_package_file)(std::string_view)) {
    if (image.empty() || image.size() > kMaxImage) return std::nullopt;
    NativeImage out;
    if (image.starts_with("https://")) {
        const auto hash = image.find('#');
        const auto url = image.substr(0, hash);
        for (char c : url)
            if (!is_url_char(c)) return std::nullopt;
        const auto file = url.substr(url.rfind('/') + 1);
        if (url.size() <= 8 || file.empty() || !is_package_file(file)) return std::nullopt;
        if (hash != std::string_view::npos) {
            const auto pin = image.substr(hash + 1);
            if (!pin.starts_with("sha256=") || pin.size() != 7 + 64) return std::nullopt;
            for (char c : pin.substr(7))
                if (!is_hex(c)) return std::nullopt;
            out.sha256 = std::string(pin.substr(7));
        }
        out.kind = NativeImage::Url;
        out.url = std::string(url);
        return out;
    }
    if (image[0] == '/') {
        for (char c : image)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
        if (image.find("/../") != std::string_view::npos || !is_package_file(image.substr(image.rfind('/') + 1)))
            return std::nullopt;
        out.kind = NativeImage::File;
        out.path = std::string(image);
        return out;
    }
    const auto colon = image.find(':');
    const auto name = image.substr(0, colon);
    if (name.empty() || name[0] == '-' || name[0] == '.') return std::nullopt;
    for (char c : name)
        if (!is_name_char(c)) return std::nullopt;
    out.name = std::string(name);
    if (colon == std::string_view::npos) return out;
    const auto version = image.substr(colon + 1);
    if (version.empty()) return std::nullopt;
    for (char c : version)
        if (!is_version_char(c)) return std::nullopt;
    out.version = std::string(version);
    return out;
}

}  // namespace pkg_native
