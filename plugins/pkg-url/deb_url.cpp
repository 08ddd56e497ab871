#include "deb_url.h"

namespace pkg_url {
namespace {

constexpr size_t kMaxImage = 4096;
constexpr std::string_view kScheme = "https://";
constexpr std::string_view kExtension = ".deb";
constexpr std::string_view kPin = "#sha256=";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_name_char(char c) { return is_lower_alnum(c) || c == '+' || c == '.' || c == '-'; }
bool is_version_char(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '~' || c == ':' || c == '-';
}
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool all_of(std::string_view s, bool (*pred)(char)) {
    for (char c : s)
        if (!pred(c)) return false;
    return true;
}

std::string decode_epoch(std::string_view version) {
    std::string out;
    for (size_t i = 0; i < version.size(); ++i) {
        if (version.substr(i, 3) == "%3a" || version.substr(i, 3) == "%3A") {
            out += ':';
            i += 2;
        } else {
            out += version[i];
        }
    }
    return out;
}

}  // namespace

std::optional<DebUrl> parse_deb_url(std::string_view image) {
    if (image.size() > kMaxImage || !image.starts_with(kScheme)) return std::nullopt;
    for (char c : image)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
    DebUrl out;
    std::string_view url = image;
    if (const auto hash = image.find('#'); hash != std::string_view::npos) {
        const auto fragment = image.substr(hash);
        if (!fragment.starts_with(kPin)) return std::nullopt;
        const auto hex = fragment.substr(kPin.size());
        if (hex.size() != 64 || !all_of(hex, is_hex)) return std::nullopt;
        for (char c : hex) out.sha256 += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
        url = image.substr(0, hash);
    }
    if (!url.ends_with(kExtension) || url.find('?') != std::string_view::npos) return std::nullopt;
    const auto rest = url.substr(kScheme.size());
    const auto host_end = rest.find('/');
    if (host_end == 0 || host_end == std::string_view::npos) return std::nullopt;
    auto file = rest.substr(rest.rfind('/') + 1);
    if (file.size() <= kExtension.size()) return std::nullopt;
    file.remove_suffix(kExtension.size());
    const auto first = file.find('_'), last = file.rfind('_');
    if (first == std::string_view::npos || first == last) return std::nullopt;
    const auto name = file.substr(0, first), arch = file.substr(last + 1);
    const auto version = decode_epoch(file.substr(first + 1, last - first - 1));
    if (name.size() < 2 || !is_lower_alnum(name[0]) || !all_of(name, is_name_char)) return std::nullopt;
    if (version.empty() || !(version[0] >= '0' && version[0] <= '9') || !all_of(version, is_version_char)) return std::nullopt;
    if (arch.empty() || !all_of(arch, is_lower_alnum)) return std::nullopt;
    out.url = std::string(url);
    out.name = std::string(name);
    out.version = version;
    out.arch = std::string(arch);
    return out;
}

}  // namespace pkg_url
