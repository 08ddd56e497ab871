#pragma once
// The host's check of a container's `image` before any resolver plugin sees it.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace systemk::plugins {

// The longest image the host hands to a resolver. Real images are far shorter: a registry
// reference is at most 255 bytes of name plus tag or digest, a package name a few dozen, and a
// path to an executable cannot exceed PATH_MAX (4096 on Linux, terminator included), which is
// the longest legitimate form. Anything longer is refused before a plugin is asked.
inline constexpr std::size_t kMaxImageLength = 4096;

// Why `image` is refused (empty, longer than kMaxImageLength, or holding a control character
// such as NUL or a newline, which would be cut short or split when it crosses the C ABI or
// lands in a log line), or nothing when resolvers may look at it. The reason never repeats
// the image itself, so an overlong value does not end up in an Event.
std::optional<std::string> image_name_problem(std::string_view image);

}  // namespace systemk::plugins
