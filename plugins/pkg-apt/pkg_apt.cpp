// pkg-apt: images that are Debian package names, "name" or "name:version".
//
// This release reads the dpkg database to find an installed package's own service unit (what
// `systemk render` and already-installed packages need). Installing through libapt-pkg is the
// next step; until then a package that is not installed is reported as such.
#include <boost/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

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

const std::regex &package_pattern() {
    static const std::regex re(R"(([a-z0-9][a-z0-9+.\-]+)(:([A-Za-z0-9.+~:\-]+))?)");
    return re;
}

int claim(void *, const char *image) {
    if (!image) return 0;
    return std::regex_match(image, package_pattern()) ? 50 : 0;
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
        std::smatch m;
        if (!std::regex_match(image, m, package_pattern()))
            return fail(error, SYSTEMK_ERR_INVALID, "'" + image + "' is not a Debian package name");
        const std::string name = m[1], wanted = m[3];
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
