// The kubelet API's pure pieces: request attributes, review bodies, log options, timestamps,
// and the formatter that applies timestamps and limitBytes.
#include <gtest/gtest.h>

#include "server/access_review.h"
#include "server/container_journal.h"
#include "server/log_options.h"

using namespace systemk::server;
namespace json = boost::json;

TEST(RequestAttributes, SubresourceByPathAsTheKubelet) {
    EXPECT_EQ(request_attributes("GET", "/containerLogs/ns/p/c").subresource, "proxy");
    EXPECT_EQ(request_attributes("GET", "/stats/summary").subresource, "stats");
    EXPECT_EQ(request_attributes("GET", "/stats").subresource, "stats");
    EXPECT_EQ(request_attributes("GET", "/statsfoo").subresource, "proxy");
    EXPECT_EQ(request_attributes("GET", "/metrics/resource").subresource, "metrics");
    EXPECT_EQ(request_attributes("GET", "/logs/syslog").subresource, "log");
    EXPECT_EQ(request_attributes("GET", "/spec/").subresource, "spec");
    EXPECT_EQ(request_attributes("GET", "/pods").subresource, "proxy");
    EXPECT_EQ(request_attributes("GET", "/pods").verb, "get");
    EXPECT_EQ(request_attributes("HEAD", "/pods").verb, "get");
    EXPECT_EQ(request_attributes("POST", "/exec/a/b/c").verb, "create");
    EXPECT_EQ(request_attributes("PUT", "/x").verb, "update");
    EXPECT_EQ(request_attributes("PATCH", "/x").verb, "patch");
    EXPECT_EQ(request_attributes("DELETE", "/x").verb, "delete");
}

TEST(BearerToken, SchemeIsCaseInsensitive) {
    EXPECT_EQ(bearer_token("Bearer abc"), "abc");
    EXPECT_EQ(bearer_token("bearer  abc "), "abc");
    EXPECT_EQ(bearer_token("Basic abc"), "");
    EXPECT_EQ(bearer_token("Bearer "), "");
    EXPECT_EQ(bearer_token(""), "");
}

TEST(TokenReview, RequestAndUser) {
    const auto req = json::parse(token_review_request("t0k")).as_object();
    EXPECT_EQ(req.at("kind"), "TokenReview");
    EXPECT_EQ(req.at("apiVersion"), "authentication.k8s.io/v1");
    EXPECT_EQ(req.at("spec").at("token"), "t0k");
    const auto user = token_review_user(json::parse(R"({"status":{"authenticated":true,"user":{"username":"system:serviceaccount:a:b",
        "uid":"u1","groups":["system:serviceaccounts","system:authenticated"],"extra":{"k":["v1","v2"]}}}})"));
    ASSERT_TRUE(user);
    EXPECT_EQ(user->name, "system:serviceaccount:a:b");
    EXPECT_EQ(user->uid, "u1");
    EXPECT_EQ(user->groups.size(), 2u);
    EXPECT_EQ(user->extra.at("k"), (std::vector<std::string>{"v1", "v2"}));
    EXPECT_FALSE(token_review_user(json::parse(R"({"status":{"authenticated":false}})")));
    EXPECT_FALSE(token_review_user(json::parse(R"({"status":{}})")));
    EXPECT_THROW(token_review_user(json::parse(R"({"kind":"Status"})")), std::runtime_error);
}

TEST(SubjectAccessReview, AsksForTheNodeSubresource) {
    UserInfo u{"alice", "42", {"devs"}, {{"scopes", {"a"}}}};
    const auto req = json::parse(subject_access_review_request(u, "node1", {"get", "proxy"})).as_object();
    const auto &spec = req.at("spec").as_object();
    EXPECT_EQ(spec.at("user"), "alice");
    EXPECT_EQ(spec.at("uid"), "42");
    EXPECT_EQ(spec.at("groups").as_array().at(0), "devs");
    EXPECT_EQ(spec.at("extra").at("scopes").as_array().at(0), "a");
    const auto &attrs = spec.at("resourceAttributes").as_object();
    EXPECT_EQ(attrs.at("resource"), "nodes");
    EXPECT_EQ(attrs.at("subresource"), "proxy");
    EXPECT_EQ(attrs.at("name"), "node1");
    EXPECT_EQ(attrs.at("verb"), "get");
    EXPECT_TRUE(subject_access_review_decision(json::parse(R"({"status":{"allowed":true}})")).allowed);
    EXPECT_FALSE(subject_access_review_decision(json::parse(R"({"status":{"allowed":true,"denied":true}})")).allowed);
    const auto no = subject_access_review_decision(json::parse(R"({"status":{"allowed":false,"reason":"no RBAC"}})"));
    EXPECT_FALSE(no.allowed);
    EXPECT_EQ(no.reason, "no RBAC");
    EXPECT_THROW(subject_access_review_decision(json::parse("{}")), std::runtime_error);
}

TEST(Query, DecodesAndRejectsBrokenEscapes) {
    const auto q = parse_query("a=1&b=x%20y+z&c&a=2&sinceTime=2024-01-01T00%3A00%3A00Z");
    EXPECT_EQ(q.at("a"), "2");
    EXPECT_EQ(q.at("b"), "x y z");
    EXPECT_EQ(q.at("c"), "");
    EXPECT_EQ(q.at("sinceTime"), "2024-01-01T00:00:00Z");
    EXPECT_THROW(parse_query("a=%4"), BadRequest);
    EXPECT_THROW(parse_query("a=%zz"), BadRequest);
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
}

TEST(LogOptions, ParsesTheKubeletParameters) {
    const int64_t now = 1'700'000'000'000'000;
    auto o = parse_log_options({{"follow", "true"}, {"tailLines", "5"}, {"limitBytes", "100"}, {"timestamps", "1"},
                                {"previous", "false"}, {"sinceSeconds", "10"}},
                               now);
    EXPECT_TRUE(o.follow);
    EXPECT_TRUE(o.timestamps);
    EXPECT_FALSE(o.previous);
    EXPECT_EQ(o.tail_lines, 5);
    EXPECT_EQ(o.limit_bytes, 100);
    EXPECT_EQ(o.since_usec, now - 10'000'000);
    o = parse_log_options({{"sinceTime", "2023-11-14T22:13:20Z"}}, now);
    EXPECT_EQ(o.since_usec, 1'700'000'000'000'000);
    o = parse_log_options({}, now);
    EXPECT_FALSE(o.follow || o.tail_lines || o.limit_bytes || o.since_usec);
    o = parse_log_options({{"tailLines", "0"}}, now);
    EXPECT_EQ(o.tail_lines, 0);
}

TEST(LogOptions, BadParametersAreBadRequests) {
    const int64_t now = 1'700'000'000'000'000;
    for (const auto &[k, v] : std::vector<std::pair<std::string, std::string>>{
             {"tailLines", "x"}, {"tailLines", "-1"}, {"tailLines", "5x"}, {"limitBytes", "0"}, {"limitBytes", ""},
             {"sinceSeconds", "0"}, {"sinceTime", "yesterday"}, {"follow", "yes"}, {"previous", "2"}})
        EXPECT_THROW(parse_log_options({{k, v}}, now), BadRequest) << k << "=" << v;
    EXPECT_THROW(parse_log_options({{"sinceSeconds", "5"}, {"sinceTime", "2023-11-14T22:13:20Z"}}, now), BadRequest);
}

TEST(Rfc3339, ParsesOffsetsAndFractions) {
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.5Z"), 1'500'000);
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.123456789Z"), 123'456);
    EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:00+01:00"), 0);
    EXPECT_EQ(parse_rfc3339("1969-12-31T23:00:00-01:00"), 0);
    for (const char *bad : {"", "1970-01-01", "1970-01-01T00:00:00", "1970-13-01T00:00:00Z", "1970-01-01T00:00:00.Z",
                            "1970-01-01T00:00:00Zjunk", "1970-01-01T00:00:00+0100"})
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(Rfc3339, KubeletTimestampsHaveNineDigits) {
    EXPECT_EQ(format_rfc3339_nano(0), "1970-01-01T00:00:00.000000000Z");
    EXPECT_EQ(format_rfc3339_nano(1'700'000'000'123'456), "2023-11-14T22:13:20.123456000Z");
    const auto t = format_rfc3339_nano(1'700'000'000'123'456);
    EXPECT_EQ(parse_rfc3339(t), 1'700'000'000'123'456);
}

TEST(LogFormatter, LinesAsWrittenWithTimestampsAndLimit) {
    std::string out;
    LogFormatter plain(false, std::nullopt);
    EXPECT_TRUE(plain.append(out, 0, "a", true));
    EXPECT_TRUE(plain.append(out, 0, std::string_view("b\0c", 3), true));
    EXPECT_TRUE(plain.append(out, 0, "long-line-piece", false));  // journald split it: no newline
    EXPECT_EQ(out, std::string("a\nb\0c\nlong-line-piece", 21));

    out.clear();
    LogFormatter stamped(true, std::nullopt);
    stamped.append(out, 1'000'000, "x", true);
    EXPECT_EQ(out, "1970-01-01T00:00:01.000000000Z x\n");

    out.clear();
    LogFormatter limited(false, 5);
    EXPECT_TRUE(limited.append(out, 0, "ab", true));   // 3 bytes
    EXPECT_FALSE(limited.append(out, 0, "cdef", true)); // cut after 2 more
    EXPECT_TRUE(limited.exhausted());
    EXPECT_FALSE(limited.append(out, 0, "g", true));
    EXPECT_EQ(out, "ab\ncd");

    out.clear();
    LogFormatter exact(false, 3);
    EXPECT_FALSE(exact.append(out, 0, "ab", true));
    EXPECT_EQ(out, "ab\n");
}
