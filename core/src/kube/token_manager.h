#pragma once
// Service-account tokens for projected volumes, from the TokenRequest API with the node's own
// credentials (the Node authorizer lets a node ask for the accounts of pods bound to it, bound
// to that pod). A token is kept per pod and request and asked for again once 80 % of its
// lifetime has passed or it is 24 h old, whichever comes first; a failed renewal keeps the old
// token while it is valid and is retried with a doubling back-off. Thread-safe: the volume
// preparation calls get() from worker threads, the reconciler asks next_refresh() on its loop.
#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kube/token_request_spec.h"

namespace systemk::kube {

class ApiClient;

struct IssuedToken {
    std::string token;
    std::chrono::system_clock::time_point expires;
};

using SystemTime = std::chrono::system_clock::time_point;

// When a token issued at `issued` that expires at `expires` is renewed: after 80 % of its
// lifetime or 24 h, whichever is first.
SystemTime token_refresh_time(SystemTime issued, SystemTime expires);

// The body of a TokenRequest for `spec` (authentication.k8s.io/v1).
std::string token_request_body(const TokenRequestSpec &spec);
// The token and expiry from a TokenRequest response; throws std::runtime_error when malformed.
IssuedToken parse_token_response(const std::string &body);

class TokenManager {
public:
    // Asks the API server; throws std::runtime_error with a message that never holds a token.
    using Fetcher = std::function<IssuedToken(const TokenRequestSpec &)>;
    using Now = std::function<SystemTime()>;

    explicit TokenManager(Fetcher fetch, Now now = [] { return std::chrono::system_clock::now(); });
    // The agent's: POSTs through `client` on its executor; get() must then never run on it.
    TokenManager(ApiClient &client, boost::asio::any_io_executor executor);

    // A valid token for `spec`: the kept one until its refresh time, else a new one (the old one
    // while renewing fails and it has not expired). Throws std::runtime_error when there is none.
    std::string get(const TokenRequestSpec &spec);
    // The earliest time one of the pod's tokens is due (refresh or retry), if it has any.
    std::optional<SystemTime> next_refresh(const std::string &pod_uid) const;
    // The pod is gone: drop its tokens.
    void forget_pod(const std::string &pod_uid);

private:
    struct Entry {
        IssuedToken issued;
        SystemTime refresh_at{};
        SystemTime retry_at{};  // after a failed renewal
        std::chrono::seconds backoff{0};
    };
    Fetcher fetch_;
    Now now_;
    mutable std::mutex mutex_;
    std::map<TokenRequestSpec, Entry> entries_;
};

}  // namespace systemk::kube
