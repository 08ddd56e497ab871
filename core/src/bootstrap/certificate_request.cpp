#include "bootstrap/certificate_request.h"

#include "util/gcc12_coroutines.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "bootstrap/cluster_info.h"
#include "bootstrap/pki.h"
#include "kube/kubeconfig.h"

namespace systemk::bootstrap {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr const char *kCollection = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

std::string status_message(const kube::ApiResponse &res) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(res.body, ec);
    if (!ec && v.is_object())
        if (const auto *m = v.get_object().if_contains("message"); m && m->is_string()) return std::string(m->get_string());
    return "HTTP " + std::to_string(res.status);
}

// Condition `type` of the CSR, if present: (reason, message).
std::optional<std::pair<std::string, std::string>> condition(const boost::json::object &csr, std::string_view type) {
    const auto *status = csr.if_contains("status");
    if (!status || !status->is_object()) return std::nullopt;
    const auto *conds = status->get_object().if_contains("conditions");
    if (!conds || !conds->is_array()) return std::nullopt;
    for (const auto &c : conds->get_array()) {
        if (!c.is_object()) continue;
        const auto &o = c.get_object();
        const auto *t = o.if_contains("type");
        if (!t || !t->is_string() || t->get_string() != type) continue;
        auto text = [&](const char *k) {
            const auto *v = o.if_contains(k);
            return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
        };
        return std::make_pair(text("reason"), text("message"));
    }
    return std::nullopt;
}

std::string issued_certificate(const boost::json::object &csr) {
    const auto *status = csr.if_contains("status");
    if (!status || !status->is_object()) return {};
    const auto *cert = status->get_object().if_contains("certificate");
    if (!cert || !cert->is_string() || cert->get_string().empty()) return {};
    return kube::base64_decode(std::string(cert->get_string()));
}

}  // namespace

asio::awaitable<std::string> request_certificate(kube::ApiClient &client, const CertificateRequest &req) {
    boost::json::array usages;
    for (const auto &u : req.usages) usages.emplace_back(u);
    const boost::json::object body{
        {"apiVersion", "certificates.k8s.io/v1"},
        {"kind", "CertificateSigningRequest"},
        {"metadata", {{"generateName", req.name_prefix}}},
        {"spec", {{"request", kube::base64_encode(req.csr_pem)}, {"signerName", req.signer}, {"usages", usages}}},
    };
    const auto created = co_await client.request(kube::http::verb::post, kCollection, boost::json::serialize(body));
    if (created.status == 401)
        throw JoinError("the API server does not accept these credentials (401): the bootstrap token is unknown or "
                        "expired, or the client certificate is no longer valid");
    if (created.status == 403)
        throw JoinError("not allowed to create a CertificateSigningRequest (403: " + status_message(created) +
                        "); bind the group system:bootstrappers to the ClusterRole system:node-bootstrapper");
    if (created.status == 404) throw JoinError("this API server has no certificates.k8s.io/v1 (Kubernetes 1.19 or newer is needed)");
    if (!created.ok()) throw JoinError("creating the CertificateSigningRequest failed: " + status_message(created));
    const auto name = std::string(created.json().at("metadata").at("name").as_string());
    spdlog::info("certificate signing request {} created (signer {}); waiting for approval", name, req.signer);

    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto began = Clock::now();
    std::optional<Clock::time_point> approved_at;
    auto next_reminder = began + std::chrono::seconds(30);
    bool warned_signer = false;
    for (;;) {
        const auto res = co_await client.request(kube::http::verb::get, std::string(kCollection) + "/" + name);
        if (res.status == 404) throw JoinError("the CertificateSigningRequest " + name + " was deleted before it was signed");
        if (res.ok()) {
            const auto csr = res.json().as_object();
            if (const auto denied = condition(csr, "Denied"))
                throw JoinError("the CertificateSigningRequest " + name + " was denied (" + denied->first +
                                (denied->second.empty() ? "" : ": " + denied->second) + ")");
            if (const auto failed = condition(csr, "Failed"))
                throw JoinError("signing the CertificateSigningRequest " + name + " failed (" + failed->first +
                                (failed->second.empty() ? "" : ": " + failed->second) + ")");
            if (auto cert = issued_certificate(csr); !cert.empty()) {
                if (certificate_validity(cert).not_after <= std::chrono::system_clock::now())
                    throw JoinError("the CertificateSigningRequest " + name +
                                    " was signed with a certificate that has already expired: kube-controller-manager's "
                                    "--cluster-signing-duration must be longer than the 5 minutes it backdates certificates");
                spdlog::info("certificate signing request {} approved and signed after {} ms", name,
                             std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count());
                co_return cert;
            }
            if (condition(csr, "Approved") && !approved_at) approved_at = Clock::now();
        }
        const auto now = Clock::now();
        const std::string signer_hint =
            "is kube-controller-manager running with --cluster-signing-cert-file and --cluster-signing-key-file "
            "(and the csrsigning controller)?";
        if (approved_at && now - *approved_at > req.signing_timeout)
            throw JoinError("the CertificateSigningRequest " + name + " was approved but nobody signed it: " + signer_hint);
        if (approved_at && !warned_signer && now - *approved_at > std::chrono::seconds(10)) {
            spdlog::warn("certificate signing request {} is approved but not signed yet: {}", name, signer_hint);
            warned_signer = true;
        }
        if (!approved_at && now >= next_reminder) {
            spdlog::warn("certificate signing request {} still waits for approval: kubectl certificate approve {}", name, name);
            next_reminder = now + std::chrono::seconds(60);
        }
        timer.expires_after(req.poll_every);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

}  // namespace systemk::bootstrap
