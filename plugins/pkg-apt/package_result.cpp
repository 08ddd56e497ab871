#include "package_result.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace pkg_apt {
namespace {

namespace json = boost::json;

std::string prefixed(const std::string &root, const std::string &path) { return root == "/" ? path : root + path; }

std::string marker(const std::string &state_dir, const std::string &name) { return state_dir + "/installed/" + name; }
bool installed_by_systemk(const std::string &state_dir, const std::string &name) {
    return access(marker(state_dir, name).c_str(), F_OK) == 0;
}
void remember_installed(const std::string &state_dir, const std::string &name, const Logger &log) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir + "/installed", ec);
    std::ofstream out(marker(state_dir, name));
    if (ec || !out.flush())
        log(true, "cannot remember that systemk installed " + name + " under " + state_dir +
                      (ec ? ": " + ec.message() : std::string()));
}

// A /dev/null link in /etc/systemd/system, as `systemctl mask` makes; an admin's own file there
// is left alone. The units never ran: policy-rc.d kept the maintainer scripts from starting them.
void mask_units(const std::string &root, const std::string &package, const std::vector<std::string> &units,
                const Logger &log) {
    const auto dir = prefixed(root, "/etc/systemd/system/");
    for (const auto &unit : units) {
        const auto path = dir + unit;
        if (symlink("/dev/null", path.c_str()) != 0 && errno != EEXIST)
            log(true, "cannot mask " + unit + " of package " + package + ": " + std::strerror(errno));
        else
            log(false, "masked " + unit + " of package " + package);
    }
}

Outcome describe(const AptOperations &apt, const Plan &plan, json::object out, bool has_command) {
    const auto choice = choose_service_unit(plan.name, apt.files_of(plan.name, plan.arch));
    if (choice.ambiguous && !has_command) {
        std::string names;
        for (const auto &c : choice.candidates) names += (names.empty() ? "" : ", ") + c.substr(c.rfind('/') + 1);
        return {"", "package " + plan.name + " ships several services (" + names + ") and none is named " + plan.name +
                        ".service: give the container a command"};
    }
    if (!choice.path.empty())
        out["unit"] = json::object{{"name", choice.path.substr(choice.path.rfind('/') + 1)},
                                   {"path", prefixed(apt.settings().root, choice.path)}};
    json::array data;
    const auto &root = apt.settings().root;
    for (const auto &dir : data_directories(apt.files_of(plan.name, plan.arch), [&root](const std::string &p) {
             struct stat st {};
             return lstat(prefixed(root, p).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
         }))
        data.emplace_back(dir);
    if (!data.empty()) out["dataDirectories"] = std::move(data);
    return {json::serialize(out), ""};
}

}  // namespace

Outcome install_and_describe(AptOperations &apt, const Plan &plan, const std::string &state_dir, bool has_command,
                             const Logger &log) {
    if (plan.needs_install) {
        const bool fresh = plan.installed.empty();
        log(false, "installing package " + plan.name + " " + plan.target + (fresh ? "" : " (installed: " + plan.installed + ")"));
        apt.install(plan);
        if (fresh) {
            remember_installed(state_dir, plan.name, log);
            mask_units(apt.settings().root, plan.name, activating_units(apt.files_of(plan.name, plan.arch)), log);
        }
    }
    json::object out{{"package", plan.name}, {"version", plan.target}, {"installed", installed_by_systemk(state_dir, plan.name)}};
    return describe(apt, plan, std::move(out), has_command);
}

Outcome describe_dry_run(const AptOperations &apt, const Plan &plan, const std::string &state_dir) {
    json::object out{{"package", plan.name}, {"version", plan.target}, {"present", !plan.needs_install},
                     {"installed", installed_by_systemk(state_dir, plan.name)}};
    if (plan.needs_install) return {json::serialize(out), ""};  // its unit is unknown until its files are on disk
    return describe(apt, plan, std::move(out), true);
}

}  // namespace pkg_apt
