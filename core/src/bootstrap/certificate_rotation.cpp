#include "bootstrap/certificate_rotation.h"

#include "util/gcc12_coroutines.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "bootstrap/certificate_request.h"
#include "bootstrap/credentials.h"
#include "bootstrap/join.h"

namespace systemk::bootstrap {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string read_text(const std::filesystem::path &p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

long long seconds_until(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t - std::chrono::system_clock::now()).count();
}

}  // namespace

std::chrono::system_clock::time_point rotation_time(const Validity &v, double jitter) {
    jitter = std::clamp(jitter, 0.0, 1.0);
    const auto lifetime = v.not_after - v.not_before;
    const long permille = 700 + std::lround(200 * jitter);
    return v.not_before + lifetime / 1000 * permille;
}

CertificateRotator::CertificateRotator(asio::io_context &io, kube::ApiClient &client, RotatedCertificate cert)
    : io_(io), client_(client), cert_(std::move(cert)) {}

CertificateRotator::~CertificateRotator() { *alive_ = false; }

void CertificateRotator::start() { asio::co_spawn(io_, loop(), asio::detached); }

asio::awaitable<void> CertificateRotator::loop() {
    auto alive = alive_;
    std::mt19937 rng{std::random_device{}()};
    asio::steady_timer timer(io_);
    auto retry = 30s;
    while (*alive) {
        Validity validity;
        bool placeholder = false;
        try {
            const auto pem = read_text(cert_.pem);
            validity = certificate_validity(pem);
            placeholder = cert_.renew_now && cert_.renew_now(pem);
        } catch (const std::exception &e) {
            spdlog::error("{} {} unreadable ({}); its rotation stops", cert_.what, cert_.pem.string(), e.what());
            co_return;
        }
        const auto when = placeholder ? std::chrono::system_clock::now()
                                      : rotation_time(validity, std::uniform_real_distribution<double>(0, 1)(rng));
        spdlog::info("{} valid for {} s more; renewing in {} s", cert_.what, seconds_until(validity.not_after),
                     std::max(0LL, seconds_until(when)));
        // Waits in steps of at most an hour, so that a changed wall clock is noticed.
        while (*alive && std::chrono::system_clock::now() < when) {
            timer.expires_after(std::min<std::chrono::system_clock::duration>(when - std::chrono::system_clock::now(), 1h));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (!*alive) co_return;
        // No co_await in a handler: the failure is taken out first.
        std::string failure;
        try {
            co_await rotate_once();
            retry = 30s;
        } catch (const std::exception &e) {
            failure = e.what();
        }
        if (!failure.empty()) {
            spdlog::warn("renewing the {} failed: {}; retrying in {} s (current one valid {} s more)", cert_.what, failure,
                         retry.count(), seconds_until(validity.not_after));
            timer.expires_after(retry);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            retry = std::min<std::chrono::seconds>(retry * 2, 5min);
        }
    }
}

asio::awaitable<void> CertificateRotator::rotate_once() {
    const auto key = generate_private_key_pem();
    CertificateRequest req;
    req.csr_pem = make_csr_pem(key, cert_.subject());
    req.signer = cert_.signer;
    req.usages = cert_.usages;
    const auto cert = co_await request_certificate(client_, req);
    write_certificate_and_key(cert_.pem, cert, key);
    if (cert_.renewed) cert_.renewed();
    spdlog::info("{} renewed; valid for {} s", cert_.what, seconds_until(certificate_validity(cert).not_after));
}

RotatedCertificate client_certificate(std::filesystem::path pem, std::string node_name, kube::ApiClient &client) {
    RotatedCertificate c;
    c.what = "client certificate";
    c.pem = std::move(pem);
    c.signer = kClientSigner;
    c.usages = kClientUsages;
    c.subject = [name = std::move(node_name)] { return CsrSubject{"system:node:" + name, {"system:nodes"}, {}, {}}; };
    c.renewed = [&client] { client.reload_client_certificate_now(); };
    return c;
}

RotatedCertificate serving_certificate(std::filesystem::path pem, std::string node_name, std::vector<std::string> dns_names,
                                       std::vector<std::string> ip_addresses) {
    RotatedCertificate c;
    c.what = "serving certificate";
    c.pem = std::move(pem);
    c.signer = "kubernetes.io/kubelet-serving";
    c.usages = {"digital signature", "key encipherment", "server auth"};
    c.subject = [name = std::move(node_name), dns = std::move(dns_names), ips = std::move(ip_addresses)] {
        return CsrSubject{"system:node:" + name, {"system:nodes"}, dns, ips};
    };
    c.renew_now = [](const std::string &cert_pem) { return is_self_signed(cert_pem); };
    return c;
}

}  // namespace systemk::bootstrap
