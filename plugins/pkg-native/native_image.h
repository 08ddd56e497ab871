#pragma once
// How pkg-rpm and pkg-pacman read an image: an installed package's name ("name" or
// "name:version"), an absolute path of a package file, or an https URL of one with an optional
// "#sha256=<hex>" pin. One pass over the text, no backtracking.
#include <optional>
#include <string>
#include <string_view>

#include "plugin_glue.h"  // printable()

namespace pkg_native {

struct NativeImage {
    enum Kind { Name, File, Url } kind = Name;
    std::string name, version;  // Name: the package and an optional version
    std::string path;           // File: the absolute path
    std::string url, sha256;    // Url: the URL without the pin, and the pin (lowercase hex) if any
};

// `is_package_file` tells whether a file name is this manager's package (".rpm",
// ".pkg.tar.zst", ...). nullopt when the image is none of the three forms.
std::optional<NativeImage> parse_native_image(std::string_view image, bool (*is_package_file)(std::string_view));

}  // namespace pkg_native
