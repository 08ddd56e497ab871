#pragma once
// pacman packages through libalpm: the local database under a root, and transactions that
// install a package file with ALPM_TRANS_FLAG_NOSCRIPTLET and no hook directory, so nothing
// the package or the root brings runs at install time.
#include <memory>
#include <string>

#include "../pkg-native/native_resolver.h"

namespace pkg_pacman {

constexpr char kDefaultDbPath[] = "/var/lib/pacman";  // inside the root, as pacman's default

std::unique_ptr<pkg_native::PackageLibrary> make_alpm_library(const std::string &root, const std::string &dbpath,
                                                              const systemk_host *host);

// Whether root/dbpath holds pacman's local database: cheap, for claim().
bool has_local_db(const std::string &root, const std::string &dbpath);

bool is_pacman_file(std::string_view file_name);

}  // namespace pkg_pacman
