// The CSR flow's answers from the API server, scripted: signed, denied, approved but never
// signed (no signer), signed already expired. Each ends in the certificate or a message that
// says what to fix.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <fstream>

#include "bootstrap/certificate_request.h"
#include "bootstrap/cluster_info.h"
#include "kube/kubeconfig.h"
#include "scripted_server.h"
#include "test_pki.h"

namespace fs = std::filesystem;
using namespace systemk;

namespace {

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Csr {
    fs::path dir = fs::temp_directory_path() / ("systemk-csr-" + std::to_string(getpid()));
    Csr() { EXPECT_TRUE(systemk::testing::make_test_pki(dir)); }
    ~Csr() { fs::remove_all(dir); }

    // Runs request_certificate against a server whose GET of the CSR answers `status` (JSON).
    std::string run(const std::string &status) {
        systemk::testing::ScriptedServer server(dir, [&](const std::string &target) -> std::string {
            if (target.ends_with("/certificatesigningrequests")) return R"({"metadata":{"name":"node-csr-test"}})";
            return R"({"metadata":{"name":"node-csr-test"},"status":)" + status + "}";
        });
        kube::Kubeconfig kc;
        kc.host = "127.0.0.1";
        kc.port = std::to_string(server.port());
        kc.server = "https://127.0.0.1:" + kc.port;
        kc.ca_pem = slurp(dir / "ca.crt");
        boost::asio::io_context io;
        kube::ApiClient client(io.get_executor(), kc);
        bootstrap::CertificateRequest req;
        req.csr_pem = "csr";
        req.signer = "kubernetes.io/kube-apiserver-client-kubelet";
        req.signing_timeout = std::chrono::seconds(1);
        req.poll_every = std::chrono::milliseconds(50);
        std::string cert;
        std::exception_ptr error;
        boost::asio::co_spawn(io, bootstrap::request_certificate(client, req), [&](std::exception_ptr e, std::string c) {
            error = e;
            cert = std::move(c);
        });
        io.run_for(std::chrono::seconds(20));
        if (error) std::rethrow_exception(error);
        return cert;
    }
    std::string message_of(const std::string &status) {
        try {
            run(status);
        } catch (const bootstrap::JoinError &e) {
            return e.what();
        }
        return "no error";
    }
};

// Self-signed, valid from two days ago until yesterday.
std::string expired_certificate() {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -2 * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), -86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char *>("old"), -1,
                               -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}

}  // namespace

TEST(CertificateRequest, ReturnsTheSignedCertificate) {
    Csr t;
    const auto cert = slurp(t.dir / "srv.crt");
    EXPECT_EQ(t.run(R"({"conditions":[{"type":"Approved"}],"certificate":")" + kube::base64_encode(cert) + R"("})"), cert);
}

TEST(CertificateRequest, DeniedSaysWhy) {
    Csr t;
    const auto m = t.message_of(R"({"conditions":[{"type":"Denied","reason":"NotOurNode","message":"unknown machine"}]})");
    EXPECT_NE(m.find("node-csr-test was denied (NotOurNode: unknown machine)"), std::string::npos) << m;
}

TEST(CertificateRequest, ApprovedButNeverSignedNamesTheSignerFlags) {
    Csr t;
    const auto m = t.message_of(R"({"conditions":[{"type":"Approved"}]})");
    EXPECT_NE(m.find("approved but nobody signed it"), std::string::npos) << m;
    EXPECT_NE(m.find("--cluster-signing-cert-file"), std::string::npos) << m;
}

TEST(CertificateRequest, AnAlreadyExpiredCertificateIsRefused) {
    Csr t;
    // A certificate that ended before it was handed out (a signing duration under the backdate).
    const auto old = expired_certificate();
    const auto m = t.message_of(R"({"conditions":[{"type":"Approved"}],"certificate":")" + kube::base64_encode(old) + R"("})");
    EXPECT_NE(m.find("--cluster-signing-duration"), std::string::npos) << m;
}
