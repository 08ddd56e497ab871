// pkg-apt: images that are Debian package names, "name" or "name:version".
//
// This release reads the dpkg database to find an installed package's own service unit (what
// `systemk render` and already-installed packages need). Installing through libapt-pkg is the
// next step; until then a package that is not installed is reported as such.
#include <boost/json.hpp>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "systemk/plugin.h"

namespace {

namespace json = boost::json;

struct Instance {
    std::string admindir = "/var/lib/dpkg";
    std::string root;  // prefix for files listed by dpkg (tests point it at a fixture tree)
};

std::string config(const systemk_host *host, const char *key, const std::string &fallback) {
    std::string value;
    systemk_output out{sizeof(systemk_output), &value,
                       [](void *ctx, const char *d, size_t n) { static_cast<std::string *>(ctx)->append(d, n); }};
    if (host && host->config_get && host->config_get(host->ctx, key, &out)) return value;
    return fallback;
}

// The host refuses longer images before asking; the plugin does not rely on that.
constexpr size_t kMaxImage = 4096;

struct PackageRef {
    std::string name, version;  // version empty: any
};

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'; }
bool is_version_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '~' ||
           c == ':' || c == '-';
}

// "name" or "name:version" with Debian's rules: a name is [a-z0-9][a-z0-9+.-]+ and holds no ':',
// so the first ':' ends it; the version is [A-Za-z0-9.+~:-]+ (an epoch brings more ':'). One
// pass over the text, no backtracking.
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
    if (version.empty()) return std::nullopt;
    for (char c : version)
        if (!is_version_char(c)) return std::nullopt;
    ref.version = std::string(version);
    return ref;
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
    try {
        return parse_package(std::string_view(image, strnlen(image, kMaxImage + 1))) ? 50 : 0;
    } catch (...) {
        return 0;
    }
}

systemk_status fail(systemk_output *error, systemk_status status, const std::string &message) {
    systemk_output_puts(error, message.c_str());
    return status;
}

// The installed version of `name`, or empty.
std::string installed_version(const Instance &inst, const std::string &name) {
    std::ifstream status(inst.admindir + "/status");
    std::string line, package, state, version;
    auto done = [&]() { return package == name && state.find(" installed") != std::string::npos; };
    while (std::getline(status, line)) {
        if (line.empty()) {
            if (done()) return version;
            package.clear(); state.clear(); version.clear();
        } else if (line.rfind("Package: ", 0) == 0) package = line.substr(9);
        else if (line.rfind("Status: ", 0) == 0) state = line.substr(8);
        else if (line.rfind("Version: ", 0) == 0) version = line.substr(9);
    }
    return done() ? version : std::string();
}

// The package's own service unit: "<name>.service" if it ships one, else its first .service.
std::string package_unit(const Instance &inst, const std::string &name) {
    std::string first;
    for (const auto &list : {inst.admindir + "/info/" + name + ".list", inst.admindir + "/info/" + name + ":amd64.list",
                             inst.admindir + "/info/" + name + ":arm64.list"}) {
        std::ifstream in(list);
        std::string line;
        while (std::getline(in, line)) {
            const bool unit_dir = line.rfind("/lib/systemd/system/", 0) == 0 || line.rfind("/usr/lib/systemd/system/", 0) == 0;
            if (!unit_dir || line.size() < 9 || line.compare(line.size() - 8, 8, ".service") != 0) continue;
            if (line.find('@') != std::string::npos) continue;  // templates need an instance
            if (line.substr(line.rfind('/') + 1) == name + ".service") return line;
            if (first.empty()) first = line;
        }
        if (!first.empty()) break;
    }
    return first;
}

systemk_status resolve(void *instance, const char *request_json, systemk_output *result, systemk_output *error) noexcept {
    try {
        const auto &inst = *static_cast<Instance *>(instance);
        const auto request = json::parse(request_json).as_object();
        const std::string image(request.at("image").as_string());
        const bool dry_run = request.contains("dryRun") && request.at("dryRun").as_bool();
        if (image.size() > kMaxImage)
            return fail(error, SYSTEMK_ERR_INVALID, "the image is longer than " + std::to_string(kMaxImage) + " bytes");
        const auto ref = parse_package(image);
        if (!ref) return fail(error, SYSTEMK_ERR_INVALID, "'" + printable(image) + "' is not a Debian package name");
        const std::string &name = ref->name, &wanted = ref->version;
        const auto version = installed_version(inst, name);
        if (version.empty()) {
            if (dry_run)
                return fail(error, SYSTEMK_ERR_NOT_FOUND,
                            "package " + name + " is not installed here, so its service unit is unknown without installing it");
            return fail(error, SYSTEMK_ERR_UNSUPPORTED,
                        "package " + name + " is not installed, and installing packages is not supported by this version of pkg-apt");
        }
        if (!wanted.empty() && wanted != version)
            return fail(error, SYSTEMK_ERR_UNSUPPORTED,
                        "package " + name + " " + version + " is installed, not the requested " + wanted);
        json::object out{{"package", name}, {"version", version}, {"installed", false}};
        if (const auto unit = package_unit(inst, name); !unit.empty())
            out["unit"] = json::object{{"name", unit.substr(unit.rfind('/') + 1)}, {"path", inst.root + unit}};
        systemk_output_puts(result, json::serialize(out).c_str());
        return SYSTEMK_OK;
    } catch (const std::exception &e) {
        return fail(error, SYSTEMK_ERR_INVALID, std::string("bad request: ") + e.what());
    } catch (...) {
        return fail(error, SYSTEMK_ERR_INTERNAL, "unexpected failure");
    }
}

systemk_status release(void *, const char *, systemk_output *) noexcept { return SYSTEMK_OK; }

systemk_status init(const systemk_host *host, void **instance, systemk_output *error) noexcept {
    try {
        auto *inst = new Instance;
        inst->admindir = config(host, "admindir", inst->admindir);
        inst->root = config(host, "root", "");
        *instance = inst;
        return SYSTEMK_OK;
    } catch (...) {
        systemk_output_puts(error, "out of memory");
        return SYSTEMK_ERR_INTERNAL;
    }
}

void fini(void *instance) noexcept { delete static_cast<Instance *>(instance); }

const systemk_resolver_ops kOps = {sizeof(systemk_resolver_ops), &claim, &resolve, &release};
const char *const kHandles[] = {"name", "name:version", nullptr};
const systemk_plugin kPlugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "pkg-apt", "0.1.0", "Debian packages: uses an installed package's own service unit",
    kHandles, &init, &fini, &kOps, nullptr};

}  // namespace

extern "C" SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *) { return &kPlugin; }
