// Service-account tokens: the renewal threshold (80 % of the lifetime or 24 h), renewal with a
// fake clock, back-off when renewing fails, and the TokenRequest body and answer.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "kube/token_manager.h"

using namespace systemk;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

kube::TokenRequestSpec spec_for(const std::string &uid) {
    kube::TokenRequestSpec s;
    s.ns = "ns";
    s.service_account = "default";
    s.pod_name = "web";
    s.pod_uid = uid;
    s.expiration_seconds = 600;
    return s;
}

struct Fixture {
    kube::SystemTime now = kube::SystemTime{} + 1000000h;
    int fetches = 0;
    bool fail = false;
    std::chrono::seconds lifetime = 600s;
    kube::TokenManager tokens{[this](const kube::TokenRequestSpec &) {
                                  ++fetches;
                                  if (fail) throw std::runtime_error("HTTP 503");
                                  return kube::IssuedToken{"token-" + std::to_string(fetches), now + lifetime};
                              },
                              [this] { return now; }};
};

}  // namespace

TEST(TokenRefresh, AtEightyPercentOfTheLifetime) {
    const kube::SystemTime t0{};
    EXPECT_EQ(kube::token_refresh_time(t0, t0 + 600s), t0 + 480s);
    EXPECT_EQ(kube::token_refresh_time(t0, t0 + 3607s), t0 + 2885600ms);
}

TEST(TokenRefresh, AfterADayAtTheLatest) {
    const kube::SystemTime t0{};
    EXPECT_EQ(kube::token_refresh_time(t0, t0 + 24h * 365), t0 + 24h);
    EXPECT_EQ(kube::token_refresh_time(t0, t0 + 30h), t0 + 24h);  // 80 % would be 24 h
    EXPECT_EQ(kube::token_refresh_time(t0, t0 - 1s), t0);          // already expired: now
}

TEST(TokenManager, KeepsATokenUntilItsRefreshTimeThenRenewsIt) {
    Fixture f;
    const auto spec = spec_for("u1");
    EXPECT_EQ(f.tokens.get(spec), "token-1");
    EXPECT_EQ(f.tokens.next_refresh("u1"), f.now + 480s);
    f.now += 479s;
    EXPECT_EQ(f.tokens.get(spec), "token-1");
    EXPECT_EQ(f.fetches, 1);
    f.now += 1s;  // 80 % of 600 s
    EXPECT_EQ(f.tokens.get(spec), "token-2");
    EXPECT_EQ(f.fetches, 2);
    EXPECT_EQ(f.tokens.next_refresh("u1"), f.now + 480s);
    EXPECT_FALSE(f.tokens.next_refresh("other"));
}

TEST(TokenManager, AFailedRenewalKeepsTheTokenAndBacksOff) {
    Fixture f;
    const auto spec = spec_for("u1");
    EXPECT_EQ(f.tokens.get(spec), "token-1");
    f.now += 500s;
    f.fail = true;
    EXPECT_EQ(f.tokens.get(spec), "token-1");  // still valid: kept
    EXPECT_EQ(f.fetches, 2);
    EXPECT_EQ(f.tokens.next_refresh("u1"), f.now + 1s);
    EXPECT_EQ(f.tokens.get(spec), "token-1");  // within the back-off: not asked again
    EXPECT_EQ(f.fetches, 2);
    f.now += 1s;
    EXPECT_EQ(f.tokens.get(spec), "token-1");
    EXPECT_EQ(f.fetches, 3);
    EXPECT_EQ(f.tokens.next_refresh("u1"), f.now + 2s);  // doubled
    f.now += 2s;
    f.fail = false;
    EXPECT_EQ(f.tokens.get(spec), "token-4");
    EXPECT_EQ(f.tokens.next_refresh("u1"), f.now + 480s);
}

TEST(TokenManager, NoTokenOnceTheOldOneExpiredAndRenewalFails) {
    Fixture f;
    const auto spec = spec_for("u1");
    f.tokens.get(spec);
    f.now += 600s;
    f.fail = true;
    EXPECT_THROW(f.tokens.get(spec), std::runtime_error);
}

TEST(TokenManager, TokensArePerPodAndForgottenWithIt) {
    Fixture f;
    EXPECT_EQ(f.tokens.get(spec_for("u1")), "token-1");
    EXPECT_EQ(f.tokens.get(spec_for("u2")), "token-2");
    auto other_audience = spec_for("u1");
    other_audience.audience = "vault";
    EXPECT_EQ(f.tokens.get(other_audience), "token-3");
    f.tokens.forget_pod("u1");
    EXPECT_FALSE(f.tokens.next_refresh("u1"));
    EXPECT_TRUE(f.tokens.next_refresh("u2"));
    EXPECT_EQ(f.tokens.get(spec_for("u1")), "token-4");
}

TEST(TokenRequest, BodyBindsThePod) {
    auto spec = spec_for("u1");
    spec.audience = "vault";
    const auto body = json::parse(kube::token_request_body(spec)).as_object();
    EXPECT_EQ(body.at("kind"), "TokenRequest");
    EXPECT_EQ(body.at("apiVersion"), "authentication.k8s.io/v1");
    const auto &s = body.at("spec").as_object();
    EXPECT_EQ(s.at("expirationSeconds"), 600);
    EXPECT_EQ(s.at("audiences"), json::array{"vault"});
    EXPECT_EQ(s.at("boundObjectRef"), (json::object{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "web"}, {"uid", "u1"}}));
    EXPECT_FALSE(json::parse(kube::token_request_body(spec_for("u1"))).at("spec").as_object().contains("audiences"));
}

TEST(TokenRequest, AnswerParsed) {
    const auto t = kube::parse_token_response(
        R"({"kind":"TokenRequest","status":{"token":"abc","expirationTimestamp":"2026-11-26T13:00:00Z"}})");
    EXPECT_EQ(t.token, "abc");
    EXPECT_EQ(std::chrono::system_clock::to_time_t(t.expires), 1795698000);
    EXPECT_THROW(kube::parse_token_response(R"({"status":{"token":"abc"}})"), std::runtime_error);
    EXPECT_THROW(kube::parse_token_response(R"({"status":{"token":"","expirationTimestamp":"2026-11-26T13:00:00Z"}})"),
                 std::runtime_error);
    EXPECT_THROW(kube::parse_token_response("not json"), std::runtime_error);
}
