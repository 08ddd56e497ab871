#pragma once
// Unit names: systemk.<namespace>.<pod>.<container>.service
//
// Namespaces and container names are DNS labels (no dots); pod names are DNS subdomains and may
// contain dots, so a name is read from both ends. systemd limits names to 255 bytes; a name that
// would be longer gets its pod part shortened and suffixed with '_' and a hash ('_' never occurs
// in a pod name, so a shortened name is recognisable) and the full identity lives in the unit's
// [X-Kubernetes] section.
#include <optional>
#include <string>
#include <string_view>

namespace systemk::units {

inline constexpr std::string_view kUnitPrefix = "systemk.";
inline constexpr std::string_view kUnitSuffix = ".service";
inline constexpr size_t kMaxUnitNameLength = 255;

struct UnitIdentity {
    std::string namespace_;
    std::string pod;
    std::string container;
    bool pod_shortened = false;  // `pod` is a prefix; read the full name from [X-Kubernetes]
};

// Throws std::invalid_argument if a part has characters Kubernetes would not allow.
std::string make_unit_name(std::string_view ns, std::string_view pod, std::string_view container);

// nullopt if `name` is not a systemk unit name.
std::optional<UnitIdentity> parse_unit_name(std::string_view name);

bool is_dns_label(std::string_view s);
bool is_dns_subdomain(std::string_view s);

}  // namespace systemk::units
