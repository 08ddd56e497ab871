#include "plugins/image_name.h"

#include <cstdio>

namespace systemk::plugins {

std::optional<std::string> image_name_problem(std::string_view image) {
    if (image.empty()) return "must not be empty";
    if (image.size() > kMaxImageLength)
        return "is " + std::to_string(image.size()) + " bytes long; the limit is " + std::to_string(kMaxImageLength);
    for (std::size_t i = 0; i < image.size(); ++i) {
        const auto byte = static_cast<unsigned char>(image[i]);
        if (byte < 0x20 || byte == 0x7f) {
            char code[8];
            std::snprintf(code, sizeof code, "0x%02x", byte);
            return "contains the control character " + std::string(code) + " at byte " + std::to_string(i);
        }
    }
    return std::nullopt;
}

}  // namespace systemk::plugins
