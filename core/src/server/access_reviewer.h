#pragma once
// Asks the API server who a bearer token belongs to (TokenReview) and whether a user may do
// what a request asks of this node (SubjectAccessReview), with the node's own credentials, and
// remembers the answers for a while as the kubelet does (so a `kubectl logs -f` storm does
// not become a review storm). Lives on the kubelet API's io_context thread.
#include <boost/asio.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "kube/api_client.h"
#include "server/access_review.h"

namespace systemk::server {

class AccessReviewer {
public:
    using Clock = std::chrono::steady_clock;
    struct Ttls {
        // The kubelet's defaults for tokens; decisions are kept shorter so that a new
        // RoleBinding (or a removed one) takes effect within a minute.
        std::chrono::seconds token = std::chrono::minutes(2);
        std::chrono::seconds allowed = std::chrono::minutes(1);
        std::chrono::seconds denied = std::chrono::seconds(10);
    };
    AccessReviewer(kube::ApiClient &client, std::string node_name, Ttls ttls);
    AccessReviewer(kube::ApiClient &client, std::string node_name) : AccessReviewer(client, std::move(node_name), Ttls{}) {}

    // The token's user, or nullopt when the API server says it is not valid. Throws
    // kube::ApiError when the API server cannot answer.
    boost::asio::awaitable<std::optional<UserInfo>> authenticate(const std::string &token);
    // Throws kube::ApiError when the API server cannot answer.
    boost::asio::awaitable<Decision> authorize(const UserInfo &user, const RequestAttributes &attrs);

private:
    template <class T> struct Entry {
        T value;
        Clock::time_point expires;
    };
    template <class Map> static void prune(Map &map, Clock::time_point now);

    kube::ApiClient &client_;
    std::string node_;
    Ttls ttls_;
    // Keyed by the token's SHA-256, so the cache never holds a token.
    std::map<std::string, Entry<std::optional<UserInfo>>> tokens_;
    std::map<std::string, Entry<Decision>> decisions_;
};

}  // namespace systemk::server
