#include "package_choice.h"

namespace pkg_apt {
namespace {

constexpr size_t kMaxImage = 4096;

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'; }
bool is_version_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '~' ||
           c == ':' || c == '-';
}

bool in_unit_dir(std::string_view path) {
    return path.starts_with("/lib/systemd/system/") || path.starts_with("/usr/lib/systemd/system/");
}

std::string_view base_name(std::string_view path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

std::optional<PackageRef> parse_package(std::string_view image) {
    if (image.size() > kMaxImage) return std::nullopt;
    const auto colon = image.find(':');
    const auto name = image.substr(0, colon);
    if (name.size() < 2 || name[0] == '+' || name[0] == '.' || name[0] == '-') return std::nullopt;
    for (char c : name)
        if (!is_name_char(c)) return std::nullopt;
    PackageRef ref{std::string(name), {}};
    if (colon == std::string_view::npos) return ref;
    const auto version = image.substr(colon + 1);
    if (version.empty() || !(version[0] >= '0' && version[0] <= '9')) return std::nullopt;  // Debian: starts with a digit
    for (char c : version)
        if (!is_version_char(c)) return std::nullopt;
    ref.version = std::string(version);
    return ref;
}

UnitChoice choose_service_unit(const std::string &package, const std::vector<std::string> &files) {
    UnitChoice choice;
    std::string named;
    for (const auto &file : files) {
        const auto base = base_name(file);
        if (!in_unit_dir(file) || !base.ends_with(".service") || base.find('@') != std::string_view::npos) continue;
        bool seen = false;  // the same unit under /lib and /usr/lib (merged /usr) counts once
        for (const auto &c : choice.candidates) seen = seen || base_name(c) == base;
        if (seen) continue;
        choice.candidates.push_back(file);
        if (base == package + ".service" && named.empty()) named = file;
    }
    if (!named.empty()) choice.path = named;
    else if (choice.candidates.size() == 1) choice.path = choice.candidates.front();
    else choice.ambiguous = choice.candidates.size() > 1;
    return choice;
}

std::vector<std::string> activating_units(const std::vector<std::string> &files) {
    std::vector<std::string> out;
    for (const auto &file : files) {
        if (!in_unit_dir(file)) continue;
        const auto base = std::string(base_name(file));
        bool kind = false;
        for (const char *suffix : {".service", ".socket", ".timer", ".path"}) kind = kind || base.ends_with(suffix);
        bool seen = false;
        for (const auto &o : out) seen = seen || o == base;
        if (kind && !seen) out.push_back(base);
    }
    return out;
}

std::vector<std::string> data_directories(const std::vector<std::string> &files,
                                          const std::function<bool(const std::string &)> &is_directory) {
    std::vector<std::string> out;
    for (const auto &file : files) {
        bool under_base = false;
        for (std::string_view base : {"/var/lib/", "/var/spool/", "/var/cache/", "/var/log/"})
            under_base = under_base || (file.size() > base.size() && std::string_view(file).starts_with(base));
        if (!under_base || file.find("/..") != std::string::npos || file.back() == '/') continue;
        bool covered = false;  // an ancestor is already in (dpkg lists parents first)
        for (const auto &o : out) covered = covered || (file.starts_with(o) && file[o.size()] == '/') || file == o;
        if (!covered && is_directory(file)) out.push_back(file);
    }
    return out;
}

}  // namespace pkg_apt
