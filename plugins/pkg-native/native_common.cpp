#include "native_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "../pkg-apt/package_choice.h"

namespace pkg_native {
namespace {

namespace json = boost::json;

std::string marker(const std::string &state_dir, const std::string &name) { return state_dir + "/installed/" + name; }

// A stable cache key for a URL (not a security measure: the pin is checked on every reuse).
std::string url_key(const std::string &url) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : url) h = (h ^ c) * 1099511628211ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace

std::string under_root(const std::string &root, const std::string &path) {
    if (root.empty() || root == "/") return path;
    return (root.back() == '/' ? root.substr(0, root.size() - 1) : root) + path;
}

std::string fetch_pinned(const systemk_host *host, const std::string &url, const std::string &sha256,
                         const std::string &cache_dir, const std::function<std::string(const std::string &)> &sha256_of_file) {
    std::error_code ec;
    std::filesystem::create_directories(cache_dir, ec);
    if (ec) throw NativeError(SYSTEMK_ERR_INTERNAL, "cannot create " + cache_dir + ": " + ec.message());
    const auto base = url.substr(url.rfind('/') + 1);
    const auto path = cache_dir + "/" + url_key(url) + "-" + (sha256.empty() ? "unpinned" : sha256) + "-" + base;
    if (!sha256.empty() && access(path.c_str(), R_OK) == 0 && sha256_of_file(path) == sha256) return path;
    if (!host || !host->fetch) throw NativeError(SYSTEMK_ERR_INTERNAL, "the host offers no fetch service");
    const auto partial = path + ".partial";
    std::string why;
    systemk_output err{sizeof(systemk_output), &why,
                       [](void *ctx, const char *d, size_t n) { static_cast<std::string *>(ctx)->append(d, n); }};
    if (host->fetch(host->ctx, url.c_str(), partial.c_str(), &err) != SYSTEMK_OK) {
        unlink(partial.c_str());
        throw NativeError(SYSTEMK_ERR_TRANSIENT, why.empty() ? "downloading " + url + " failed" : why);
    }
    if (!sha256.empty()) {
        const auto got = sha256_of_file(partial);
        if (got != sha256) {
            unlink(partial.c_str());
            throw NativeError(SYSTEMK_ERR_INVALID,
                              "the sha256 of " + url + " is " + got + ", not the pinned " + sha256 + ": nothing was installed");
        }
    }
    if (rename(partial.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        unlink(partial.c_str());
        throw NativeError(SYSTEMK_ERR_INTERNAL, "cannot keep " + path + ": " + reason);
    }
    return path;
}

bool installed_by_systemk(const std::string &state_dir, const std::string &name) {
    return access(marker(state_dir, name).c_str(), F_OK) == 0;
}

void remember_installed(const systemk_host *host, const std::string &state_dir, const std::string &name) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir + "/installed", ec);
    std::ofstream out(marker(state_dir, name));
    if (ec || !out.flush())
        log(host, SYSTEMK_LOG_WARN, "cannot remember that systemk installed " + name + " under " + state_dir);
}

void mask_units(const systemk_host *host, const std::string &root, const std::string &name,
                const std::vector<std::string> &files) {
    const auto units = pkg_apt::activating_units(files);
    if (units.empty()) return;
    const auto dir = under_root(root, "/etc/systemd/system");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    for (const auto &unit : units) {
        const auto path = dir + "/" + unit;
        if (symlink("/dev/null", path.c_str()) != 0 && errno != EEXIST)
            log(host, SYSTEMK_LOG_WARN, "cannot mask " + unit + " of package " + name + ": " + std::strerror(errno));
        else
            log(host, SYSTEMK_LOG_INFO, "masked " + unit + " of package " + name);
    }
}

std::string describe(const Described &d, const std::string &root, bool has_command) {
    json::object out{{"package", d.package}, {"version", d.version}, {"installed", d.installed_by_systemk}};
    if (d.dry_run) out["present"] = d.present;
    if (!d.present) return json::serialize(out);  // its files are not on disk yet
    const auto choice = pkg_apt::choose_service_unit(d.package, d.files);
    if (choice.ambiguous && !has_command) {
        std::string names;
        for (const auto &c : choice.candidates) names += (names.empty() ? "" : ", ") + c.substr(c.rfind('/') + 1);
        throw NativeError(SYSTEMK_ERR_INVALID, "package " + d.package + " ships several services (" + names +
                                                   ") and none is named " + d.package + ".service: give the container a command");
    }
    if (!choice.path.empty())
        out["unit"] = json::object{{"name", choice.path.substr(choice.path.rfind('/') + 1)},
                                   {"path", under_root(root, choice.path)}};
    json::array data;
    for (const auto &dir : pkg_apt::data_directories(d.files, [&root](const std::string &p) {
             struct stat st {};
             return lstat(under_root(root, p).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
         }))
        data.emplace_back(dir);
    if (!data.empty()) out["dataDirectories"] = std::move(data);
    return json::serialize(out);
}

bool has_command(const std::string &request_json) {
    const auto request = json::parse(request_json);
    const auto *container = request.as_object().if_contains("container");
    if (!container || !container->is_object()) return false;
    const auto *command = container->get_object().if_contains("command");
    return command && command->is_array() && !command->get_array().empty();
}

}  // namespace pkg_native
