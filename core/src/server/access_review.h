#pragma once
// Authentication and authorization of kubelet API requests the way the kubelet does it in
// webhook mode: the request's attributes come from its method and path, bearer tokens are
// checked with a TokenReview and every decision is a SubjectAccessReview on nodes/<name>.
// Pure functions here (tested without a cluster); AccessReviewer asks the API server.
#include <boost/json.hpp>

#include <map>
#include <tuple>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systemk::server {

struct UserInfo {
    std::string name;
    std::string uid;
    std::vector<std::string> groups;
    std::map<std::string, std::vector<std::string>> extra;
    bool empty() const { return name.empty(); }
};

// What is asked of nodes/<name>: the verb from the method, the subresource from the path
// (/stats → stats, /metrics → metrics, /logs → log, /spec → spec, anything else → proxy; so
// /containerLogs is "proxy", exactly as the kubelet decides).
struct RequestAttributes {
    std::string verb;
    std::string subresource;
    bool operator<(const RequestAttributes &o) const { return std::tie(verb, subresource) < std::tie(o.verb, o.subresource); }
};
RequestAttributes request_attributes(std::string_view method, std::string_view path);

// The bearer token of an Authorization header value, or empty.
std::string bearer_token(std::string_view authorization);

std::string token_review_request(const std::string &token);
// The user the review authenticated, or nullopt. Throws std::runtime_error on a malformed reply.
std::optional<UserInfo> token_review_user(const boost::json::value &review);

std::string subject_access_review_request(const UserInfo &user, const std::string &node, const RequestAttributes &attrs);
struct Decision {
    bool allowed = false;
    std::string reason;
};
Decision subject_access_review_decision(const boost::json::value &review);

// The 403 body the kubelet answers with.
std::string forbidden_message(const UserInfo &user, const std::string &node, const RequestAttributes &attrs);

}  // namespace systemk::server
