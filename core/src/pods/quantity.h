#pragma once
// Kubernetes resource quantities ("500m", "1.5", "128Mi", "1e3"), parsed exactly: no floating
// point, so that a hostile "1e30" is an error instead of an overflowed (and ignored) limit.
#include <cstdint>
#include <optional>
#include <string_view>

namespace systemk::pods {

// The quantity times 10^scale, rounded up to an integer (scale 0: bytes or cores, scale 3:
// millicores), or nullopt if malformed, negative or not representable in an int64.
std::optional<int64_t> parse_quantity_scaled(std::string_view text, int scale);

}  // namespace systemk::pods
