#pragma once
// Kubernetes resource quantities ("500m", "1.5", "128Mi", "1e3").
#include <optional>
#include <string_view>

namespace systemk::pods {

// The quantity as a number of base units (cores, bytes), or nullopt if malformed.
std::optional<long double> parse_quantity(std::string_view text);

}  // namespace systemk::pods
