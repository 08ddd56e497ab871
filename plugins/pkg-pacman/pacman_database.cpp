#include <sys/stat.h>

#include "alpm_library.h"

// Without libalpm: the front's claim() asks these on every image.
namespace pkg_pacman {

bool has_local_db(const std::string &root, const std::string &dbpath) {
    struct stat st {};
    return stat((pkg_native::under_root(root, dbpath) + "/local/ALPM_DB_VERSION").c_str(), &st) == 0;
}

bool is_pacman_file(std::string_view file) {
    const auto ext = file.find(".pkg.tar");
    return ext != std::string_view::npos && ext > 0 && !file.ends_with(".sig");
}

}  // namespace pkg_pacman
