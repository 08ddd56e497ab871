#pragma once
// What a projected serviceAccountToken source asks the TokenRequest API for.
#include <compare>
#include <cstdint>
#include <string>

namespace systemk::kube {

struct TokenRequestSpec {
    std::string ns, service_account, pod_name, pod_uid;
    std::string audience;  // empty: the API server's own audiences
    int64_t expiration_seconds = 3600;
    auto operator<=>(const TokenRequestSpec &) const = default;
};

}  // namespace systemk::kube
