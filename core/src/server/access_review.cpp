#include "server/access_review.h"

#include <cctype>
#include <stdexcept>

namespace systemk::server {
namespace json = boost::json;

namespace {

bool under(std::string_view path, std::string_view root) {
    return path == root || (path.size() > root.size() && path.substr(0, root.size()) == root && path[root.size()] == '/');
}

const json::object &object_at(const json::value &v, std::string_view key) {
    static const json::object empty;
    if (!v.is_object()) return empty;
    const auto *p = v.as_object().if_contains(key);
    return p && p->is_object() ? p->as_object() : empty;
}

std::string string_at(const json::object &o, std::string_view key) {
    const auto *p = o.if_contains(key);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
}

}  // namespace

RequestAttributes request_attributes(std::string_view method, std::string_view path) {
    RequestAttributes a;
    if (method == "POST") a.verb = "create";
    else if (method == "PUT") a.verb = "update";
    else if (method == "PATCH") a.verb = "patch";
    else if (method == "DELETE") a.verb = "delete";
    else a.verb = "get";  // GET, HEAD and anything else reads
    if (under(path, "/stats")) a.subresource = "stats";
    else if (under(path, "/metrics")) a.subresource = "metrics";
    else if (under(path, "/logs")) a.subresource = "log";
    else if (under(path, "/spec")) a.subresource = "spec";
    else a.subresource = "proxy";
    return a;
}

std::string bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size()) return {};
    for (size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return {};
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    return std::string(token);
}

std::string token_review_request(const std::string &token) {
    return json::serialize(json::object{{"apiVersion", "authentication.k8s.io/v1"},
                                        {"kind", "TokenReview"},
                                        {"spec", json::object{{"token", token}}}});
}

std::optional<UserInfo> token_review_user(const json::value &review) {
    if (!review.is_object() || !review.as_object().contains("status")) throw std::runtime_error("TokenReview reply without status");
    const auto &status = object_at(review, "status");
    const auto *authenticated = status.if_contains("authenticated");
    if (!authenticated || !authenticated->is_bool() || !authenticated->as_bool()) return std::nullopt;
    const auto *user = status.if_contains("user");
    if (!user || !user->is_object()) throw std::runtime_error("TokenReview reply without user");
    UserInfo info;
    const auto &u = user->as_object();
    info.name = string_at(u, "username");
    if (info.name.empty()) return std::nullopt;
    info.uid = string_at(u, "uid");
    if (const auto *g = u.if_contains("groups"); g && g->is_array())
        for (const auto &v : g->as_array())
            if (v.is_string()) info.groups.emplace_back(v.as_string());
    if (const auto *e = u.if_contains("extra"); e && e->is_object())
        for (const auto &[k, vs] : e->as_object()) {
            auto &list = info.extra[std::string(k)];
            if (vs.is_array())
                for (const auto &v : vs.as_array())
                    if (v.is_string()) list.emplace_back(v.as_string());
        }
    return info;
}

std::string subject_access_review_request(const UserInfo &user, const std::string &node, const RequestAttributes &attrs) {
    json::object spec{{"user", user.name},
                      {"resourceAttributes", json::object{{"verb", attrs.verb},
                                                          {"group", ""},
                                                          {"version", "v1"},
                                                          {"resource", "nodes"},
                                                          {"subresource", attrs.subresource},
                                                          {"name", node}}}};
    if (!user.uid.empty()) spec["uid"] = user.uid;
    if (!user.groups.empty()) {
        json::array groups;
        for (const auto &g : user.groups) groups.emplace_back(g);
        spec["groups"] = std::move(groups);
    }
    if (!user.extra.empty()) {
        json::object extra;
        for (const auto &[k, vs] : user.extra) {
            json::array list;
            for (const auto &v : vs) list.emplace_back(v);
            extra[k] = std::move(list);
        }
        spec["extra"] = std::move(extra);
    }
    return json::serialize(json::object{{"apiVersion", "authorization.k8s.io/v1"},
                                        {"kind", "SubjectAccessReview"},
                                        {"spec", std::move(spec)}});
}

Decision subject_access_review_decision(const json::value &review) {
    if (!review.is_object() || !review.as_object().contains("status"))
        throw std::runtime_error("SubjectAccessReview reply without status");
    const auto &status = object_at(review, "status");
    Decision d;
    const auto *allowed = status.if_contains("allowed");
    const auto *denied = status.if_contains("denied");
    d.allowed = allowed && allowed->is_bool() && allowed->as_bool() && !(denied && denied->is_bool() && denied->as_bool());
    d.reason = string_at(status, "reason");
    return d;
}

std::string forbidden_message(const UserInfo &user, const std::string &node, const RequestAttributes &attrs) {
    return "Forbidden (user=" + user.name + ", verb=" + attrs.verb + ", resource=nodes, subresource=" + attrs.subresource +
           ", name=" + node + ")\n";
}

}  // namespace systemk::server
