#pragma once
// The pure decisions of pkg-apt, apart from libapt-pkg so that they can be tested alone: how an
// image names a package, and which of a package's files is its service unit.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../pkg-native/plugin_glue.h"

namespace pkg_apt {

struct PackageRef {
    std::string name, version;  // version empty: any
};

// "name" or "name:version" with Debian's rules: a name is [a-z0-9][a-z0-9+.-]+ and holds no
// ':', so the first ':' ends it; the version is [A-Za-z0-9.+~:-]+ (an epoch brings more ':').
// One pass over the text, no backtracking. nullopt when `image` is not such a name.
std::optional<PackageRef> parse_package(std::string_view image);

// The image as it may appear in a one-line error (shared by every package plugin).
using pkg_native::printable;

struct UnitChoice {
    std::string path;                     // the chosen unit, empty if none
    std::vector<std::string> candidates;  // every non-template service the package ships
    bool ambiguous = false;               // several candidates and none named after the package
};

// From a package's file list (dpkg's info/<pkg>.list): its service unit is the one named
// "<package>.service", else the only service it ships. Templates (x@.service) need an instance
// and are never chosen.
UnitChoice choose_service_unit(const std::string &package, const std::vector<std::string> &files);

// Every unit a package ships that could start its daemon without systemk (.service, .socket,
// .timer, .path), templates included: what systemk masks when it installed the package.
std::vector<std::string> activating_units(const std::vector<std::string> &files);

// The package's own data directories: directories it ships under /var/lib, /var/spool,
// /var/cache or /var/log (not those four themselves), the top-most ones only. A daemon systemk
// installed may write there (uptimed's /var/spool/uptimed), as it could outside a sandbox.
// `is_directory` tells which listed paths are directories.
std::vector<std::string> data_directories(const std::vector<std::string> &files,
                                          const std::function<bool(const std::string &)> &is_directory);

}  // namespace pkg_apt
