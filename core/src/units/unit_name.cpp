#include "units/unit_name.h"

#include <cstdio>
#include <stdexcept>

namespace systemk::units {
namespace {

bool is_label_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

uint64_t fnv1a64(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h;
}

}  // namespace

bool is_dns_label(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    for (char c : s)
        if (!is_label_char(c)) return false;
    return s.front() != '-' && s.back() != '-';
}

bool is_dns_subdomain(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    size_t start = 0;
    while (start <= s.size()) {
        const auto dot = s.find('.', start);
        const auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!is_dns_label(label)) return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

std::string make_unit_name(std::string_view ns, std::string_view pod, std::string_view container) {
    if (!is_dns_label(ns)) throw std::invalid_argument("namespace '" + std::string(ns) + "' is not a DNS label");
    if (!is_dns_subdomain(pod)) throw std::invalid_argument("pod name '" + std::string(pod) + "' is not a DNS subdomain");
    if (!is_dns_label(container))
        throw std::invalid_argument("container name '" + std::string(container) + "' is not a DNS label");
    const size_t fixed = kUnitPrefix.size() + ns.size() + 1 + 1 + container.size() + kUnitSuffix.size();
    std::string pod_part(pod);
    if (fixed + pod.size() > kMaxUnitNameLength) {
        char hash[18];
        std::snprintf(hash, sizeof hash, "_%016llx", static_cast<unsigned long long>(fnv1a64(pod)));
        const size_t keep = kMaxUnitNameLength - fixed - (sizeof hash - 1);
        pod_part = std::string(pod.substr(0, keep)) + hash;
    }
    std::string name(kUnitPrefix);
    name += ns;
    name += '.';
    name += pod_part;
    name += '.';
    name += container;
    name += kUnitSuffix;
    return name;
}

std::optional<UnitIdentity> parse_unit_name(std::string_view name) {
    if (!name.starts_with(kUnitPrefix) || !name.ends_with(kUnitSuffix)) return std::nullopt;
    auto body = name.substr(kUnitPrefix.size(), name.size() - kUnitPrefix.size() - kUnitSuffix.size());
    const auto first = body.find('.');
    const auto last = body.rfind('.');
    if (first == std::string_view::npos || first == last) return std::nullopt;
    UnitIdentity id;
    id.namespace_ = std::string(body.substr(0, first));
    id.container = std::string(body.substr(last + 1));
    id.pod = std::string(body.substr(first + 1, last - first - 1));
    const auto underscore = id.pod.find('_');
    if (underscore != std::string::npos) {
        id.pod_shortened = true;
        id.pod.resize(underscore);
    }
    if (!is_dns_label(id.namespace_) || !is_dns_label(id.container) || id.pod.empty()) return std::nullopt;
    return id;
}

}  // namespace systemk::units
