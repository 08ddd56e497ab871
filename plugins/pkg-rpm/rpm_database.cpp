#include <sys/stat.h>

#include "rpm_library.h"

// Without librpm: the front's claim() asks this on every bare name.
namespace pkg_rpm {

bool has_rpmdb(const std::string &root, const std::string &dbpath) {
    const auto dir = pkg_native::under_root(root, dbpath);
    struct stat st {};
    for (const char *file : {"/rpmdb.sqlite", "/Packages.db", "/Packages"})
        if (stat((dir + file).c_str(), &st) == 0) return true;
    return false;
}

}  // namespace pkg_rpm
