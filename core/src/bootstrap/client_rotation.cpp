#include "bootstrap/client_rotation.h"

// GCC 12 reports a false -Wmismatched-new-delete for some coroutine frames (see reconciler.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

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

ClientCertificateRotator::ClientCertificateRotator(asio::io_context &io, kube::ApiClient &client,
                                                   std::filesystem::path client_pem, std::string node_name)
    : io_(io), client_(client), client_pem_(std::move(client_pem)), node_name_(std::move(node_name)) {}

ClientCertificateRotator::~ClientCertificateRotator() { *alive_ = false; }

void ClientCertificateRotator::start() { asio::co_spawn(io_, loop(), asio::detached); }

asio::awaitable<void> ClientCertificateRotator::loop() {
    auto alive = alive_;
    std::mt19937 rng{std::random_device{}()};
    asio::steady_timer timer(io_);
    auto retry = 30s;
    while (*alive) {
        Validity validity;
        try {
            validity = certificate_validity(read_text(client_pem_));
        } catch (const std::exception &e) {
            spdlog::error("client certificate {} unreadable ({}); certificate rotation stops", client_pem_.string(), e.what());
            co_return;
        }
        const auto when = rotation_time(validity, std::uniform_real_distribution<double>(0, 1)(rng));
        spdlog::info("client certificate valid for {} s more; renewing in {} s", seconds_until(validity.not_after),
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
            spdlog::warn("renewing the client certificate failed: {}; retrying in {} s (current one valid {} s more)", failure,
                         retry.count(), seconds_until(validity.not_after));
            timer.expires_after(retry);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            retry = std::min<std::chrono::seconds>(retry * 2, 5min);
        }
    }
}

asio::awaitable<void> ClientCertificateRotator::rotate_once() {
    const auto key = generate_private_key_pem();
    CertificateRequest req;
    req.csr_pem = client_csr_pem(key, node_name_);
    req.signer = kClientSigner;
    req.usages = kClientUsages;
    const auto cert = co_await request_certificate(client_, req);
    replace_client_pem(client_pem_, cert, key);
    client_.reload_client_certificate_now();
    spdlog::info("client certificate renewed; valid for {} s", seconds_until(certificate_validity(cert).not_after));
}

}  // namespace systemk::bootstrap
