#include "kube/token_manager.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <future>
#include <stdexcept>

#include "kube/api_client.h"

namespace systemk::kube {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr auto kMaxBackoff = std::chrono::seconds(300);

// "2026-11-26T13:00:00Z" (the API server writes UTC, whole seconds).
SystemTime parse_rfc3339(const std::string &text) {
    std::tm tm{};
    char zone = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &zone) != 7 ||
        zone != 'Z')
        throw std::runtime_error("TokenRequest answer has an unreadable expirationTimestamp");
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string describe(const TokenRequestSpec &s) { return s.ns + "/" + s.service_account + " for pod " + s.pod_name; }

}  // namespace

SystemTime token_refresh_time(SystemTime issued, SystemTime expires) {
    const auto lifetime = std::max(expires - issued, SystemTime::duration::zero());
    return issued + std::min<SystemTime::duration>(lifetime * 8 / 10, 24h);
}

std::string token_request_body(const TokenRequestSpec &spec) {
    json::object s{{"expirationSeconds", spec.expiration_seconds},
                   {"boundObjectRef", json::object{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", spec.pod_name},
                                                   {"uid", spec.pod_uid}}}};
    if (!spec.audience.empty()) s["audiences"] = json::array{json::value(spec.audience)};
    return json::serialize(json::object{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", s}});
}

IssuedToken parse_token_response(const std::string &body) {
    json::value v;
    try {
        v = json::parse(body);
    } catch (const std::exception &) {
        throw std::runtime_error("TokenRequest answer is not JSON");
    }
    const auto *status = v.is_object() ? v.get_object().if_contains("status") : nullptr;
    const auto *token = status && status->is_object() ? status->get_object().if_contains("token") : nullptr;
    const auto *exp = status && status->is_object() ? status->get_object().if_contains("expirationTimestamp") : nullptr;
    if (!token || !token->is_string() || token->get_string().empty() || !exp || !exp->is_string())
        throw std::runtime_error("TokenRequest answer has no token or expirationTimestamp");
    return {std::string(token->get_string()), parse_rfc3339(std::string(exp->get_string()))};
}

TokenManager::TokenManager(Fetcher fetch, Now now) : fetch_(std::move(fetch)), now_(std::move(now)) {}

TokenManager::TokenManager(ApiClient &client, boost::asio::any_io_executor executor)
    : TokenManager([&client, executor](const TokenRequestSpec &spec) {
          auto call = [&client, target = "/api/v1/namespaces/" + spec.ns + "/serviceaccounts/" + spec.service_account + "/token",
                       body = token_request_body(spec)]() -> boost::asio::awaitable<ApiResponse> {
              co_return co_await client.request(http::verb::post, target, body);
          };
          // The client lives on the event loop; this runs on a worker thread and waits for it.
          auto future = boost::asio::co_spawn(executor, call, boost::asio::use_future);
          ApiResponse res;
          try {
              // Bounded: at shutdown the loop may stop before answering.
              if (future.wait_for(60s) != std::future_status::ready) throw std::runtime_error("no answer within 60 s");
              res = future.get();
          } catch (const std::exception &e) {
              throw std::runtime_error(std::string("TokenRequest failed: ") + e.what());
          }
          if (!res.ok())
              throw std::runtime_error("TokenRequest for service account " + describe(spec) + " refused: HTTP " +
                                       std::to_string(res.status));
          return parse_token_response(res.body);
      }) {}

std::string TokenManager::get(const TokenRequestSpec &spec) {
    const auto now = now_();
    std::optional<Entry> kept;
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(spec); it != entries_.end()) {
            kept = it->second;
            if (now < kept->refresh_at || (now < kept->retry_at && now < kept->issued.expires)) return kept->issued.token;
        }
    }
    // Fetched without the lock: other pods' tokens are not held up by a slow API server.
    try {
        auto issued = fetch_(spec);
        std::lock_guard lock(mutex_);
        auto &e = entries_[spec];
        e.refresh_at = token_refresh_time(now, issued.expires);
        e.issued = std::move(issued);
        e.retry_at = {};
        e.backoff = 0s;
        spdlog::info("pod={}/{} service account {} token {}, valid for {} s", spec.ns, spec.pod_name, spec.service_account,
                     kept ? "renewed" : "issued",
                     std::chrono::duration_cast<std::chrono::seconds>(e.issued.expires - now).count());
        return e.issued.token;
    } catch (const std::exception &err) {
        if (!kept || now >= kept->issued.expires) throw;
        std::lock_guard lock(mutex_);
        auto &e = entries_[spec];
        e.backoff = std::min<std::chrono::seconds>(e.backoff == 0s ? 1s : e.backoff * 2, kMaxBackoff);
        e.retry_at = now + e.backoff;
        spdlog::warn("pod={}/{} service account {} token not renewed ({}); the current one stays, retry in {} s", spec.ns,
                     spec.pod_name, spec.service_account, err.what(), e.backoff.count());
        return e.issued.token;
    }
}

std::optional<SystemTime> TokenManager::next_refresh(const std::string &pod_uid) const {
    std::lock_guard lock(mutex_);
    std::optional<SystemTime> out;
    for (const auto &[spec, e] : entries_) {
        if (spec.pod_uid != pod_uid) continue;
        const auto due = std::max(e.refresh_at, e.retry_at);
        if (!out || due < *out) out = due;
    }
    return out;
}

void TokenManager::forget_pod(const std::string &pod_uid) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const auto &kv) { return kv.first.pod_uid == pod_uid; });
}

}  // namespace systemk::kube
