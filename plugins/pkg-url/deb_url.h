#pragma once
// The images pkg-url understands: https://HOST/[DIRS/]NAME_VERSION_ARCH.deb[#sha256=HEX].
#include <optional>
#include <string>
#include <string_view>

namespace pkg_url {

struct DebUrl {
    std::string url;      // without the fragment: what is downloaded
    std::string name, version, arch;
    std::string sha256;   // lower-case hex, empty when not pinned
};

// nullopt when `image` is not such a URL. The version in a file name spells an epoch's ':' as
// "%3a", as Debian's archive does; it is decoded here. One pass, no backtracking.
std::optional<DebUrl> parse_deb_url(std::string_view image);

}  // namespace pkg_url
