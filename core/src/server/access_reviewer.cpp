#include "server/access_reviewer.h"

#include <openssl/evp.h>

namespace systemk::server {
namespace {

std::string sha256(const std::string &text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char *>(md), n);
}

// Everything that can change a decision, in one key.
std::string decision_key(const UserInfo &user, const RequestAttributes &attrs) {
    std::string key = attrs.verb + '\0' + attrs.subresource + '\0' + user.name + '\0' + user.uid + '\0';
    for (const auto &g : user.groups) key += g + '\1';
    for (const auto &[k, vs] : user.extra) {
        key += k + '\2';
        for (const auto &v : vs) key += v + '\1';
    }
    return key;
}

constexpr size_t kMaxEntries = 4096;

}  // namespace

AccessReviewer::AccessReviewer(kube::ApiClient &client, std::string node_name, Ttls ttls)
    : client_(client), node_(std::move(node_name)), ttls_(ttls) {}

template <class Map> void AccessReviewer::prune(Map &map, Clock::time_point now) {
    if (map.size() < kMaxEntries) return;
    std::erase_if(map, [&](const auto &kv) { return kv.second.expires <= now; });
    if (map.size() >= kMaxEntries) map.clear();  // a flood of distinct keys: start over
}

boost::asio::awaitable<std::optional<UserInfo>> AccessReviewer::authenticate(const std::string &token) {
    const auto key = sha256(token);
    const auto now = Clock::now();
    if (auto it = tokens_.find(key); it != tokens_.end() && it->second.expires > now) co_return it->second.value;
    const std::string target = "/apis/authentication.k8s.io/v1/tokenreviews";
    const std::string body = token_review_request(token);
    auto response = co_await client_.request(kube::http::verb::post, target, body);
    if (!response.ok())
        throw kube::ApiError(response.status, "TokenReview failed with HTTP " + std::to_string(response.status));
    std::optional<UserInfo> user;
    try {
        user = token_review_user(response.json());
    } catch (const std::runtime_error &e) {
        throw kube::ApiError(response.status, e.what());
    }
    prune(tokens_, now);
    tokens_[key] = {user, Clock::now() + ttls_.token};
    co_return user;
}

boost::asio::awaitable<Decision> AccessReviewer::authorize(const UserInfo &user, const RequestAttributes &attrs) {
    const auto key = decision_key(user, attrs);
    const auto now = Clock::now();
    if (auto it = decisions_.find(key); it != decisions_.end() && it->second.expires > now) co_return it->second.value;
    const std::string target = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    const std::string body = subject_access_review_request(user, node_, attrs);
    auto response = co_await client_.request(kube::http::verb::post, target, body);
    if (!response.ok())
        throw kube::ApiError(response.status, "SubjectAccessReview failed with HTTP " + std::to_string(response.status));
    Decision decision;
    try {
        decision = subject_access_review_decision(response.json());
    } catch (const std::runtime_error &e) {
        throw kube::ApiError(response.status, e.what());
    }
    prune(decisions_, now);
    decisions_[key] = {decision, Clock::now() + (decision.allowed ? ttls_.allowed : ttls_.denied)};
    co_return decision;
}

}  // namespace systemk::server
