#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bootstrap/certificate_rotation.h"
#include "bootstrap/cluster_info.h"
#include "bootstrap/credentials.h"
#include "bootstrap/join.h"
#include "bootstrap/pki.h"
#include "kube/kubeconfig.h"
#include "test_pki.h"

namespace fs = std::filesystem;
using namespace systemk::bootstrap;

namespace {

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Pki {
    fs::path dir = fs::temp_directory_path() / ("systemk-bootstrap-" + std::to_string(getpid()));
    Pki() { EXPECT_TRUE(systemk::testing::make_test_pki(dir)); }
    ~Pki() { fs::remove_all(dir); }
    std::string ca() const { return slurp(dir / "ca.crt"); }
};

const BootstrapToken kToken{"abcdef", "0123456789abcdef"};

// A cluster-info configMap as kube-controller-manager's bootstrapsigner publishes it.
boost::json::object cluster_info(const std::string &ca_pem, const BootstrapToken &signer) {
    const std::string kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: ''\n  cluster:\n"
                                   "    certificate-authority-data: " + systemk::kube::base64_encode(ca_pem) +
                                   "\n    server: https://10.0.0.1:6443\n";
    const auto header = base64url_encode(R"({"alg":"HS256","kid":")" + signer.id + R"("})");
    const auto sig = base64url_encode(hmac_sha256(signer.secret, header + "." + base64url_encode(kubeconfig)));
    return {{"data", {{"kubeconfig", kubeconfig}, {"jws-kubeconfig-" + signer.id, header + ".." + sig}}}};
}

}  // namespace

TEST(BootstrapToken, ParsesTheKubeadmFormatOnly) {
    const auto t = parse_bootstrap_token("abcdef.0123456789abcdef");
    EXPECT_EQ(t.id, "abcdef");
    EXPECT_EQ(t.full(), "abcdef.0123456789abcdef");
    for (const char *bad : {"", "abcdef", "abcde.0123456789abcdef", "ABCDEF.0123456789abcdef", "abcdef.0123456789abcde",
                            "abcdef:0123456789abcdef", "abcdef.0123456789abcdef\n"}) {
        try {
            parse_bootstrap_token(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const JoinError &e) {
            EXPECT_EQ(std::string(e.what()).find("0123456789"), std::string::npos) << "never echoes the secret";
        }
    }
}

TEST(CaPin, AcceptsSha256HexOnly) {
    const std::string hex(64, 'A');
    EXPECT_EQ(parse_ca_pin("sha256:" + hex), "sha256:" + std::string(64, 'a'));
    EXPECT_THROW(parse_ca_pin(hex), JoinError);
    EXPECT_THROW(parse_ca_pin("sha1:" + hex), JoinError);
    EXPECT_THROW(parse_ca_pin("sha256:" + hex.substr(1)), JoinError);
    EXPECT_THROW(parse_ca_pin("sha256:" + hex.substr(1) + "g"), JoinError);
}

TEST(ClusterInfo, TrustedOnlyWithTheTokensSignatureAndThePinnedCa) {
    Pki pki;
    const auto pin = public_key_pin(pki.ca());
    const auto info = verify_cluster_info(cluster_info(pki.ca(), kToken), kToken, {pin});
    EXPECT_EQ(info.ca_pem, pki.ca());
    EXPECT_EQ(info.server, "https://10.0.0.1:6443");

    // Another CA than the pinned one: refused, whatever the signature.
    EXPECT_THROW(verify_cluster_info(cluster_info(pki.ca(), kToken), kToken, {"sha256:" + std::string(64, '0')}), JoinError);
    // Signed with another secret (an attacker without the token): refused.
    const BootstrapToken forged{"abcdef", "ffffffffffffffff"};
    EXPECT_THROW(verify_cluster_info(cluster_info(pki.ca(), forged), kToken, {pin}), JoinError);
    // No signature for this token id (unknown or expired token).
    const BootstrapToken other{"zzzzzz", "0123456789abcdef"};
    EXPECT_THROW(verify_cluster_info(cluster_info(pki.ca(), other), kToken, {pin}), JoinError);
    // A kubeconfig changed after signing.
    auto tampered = cluster_info(pki.ca(), kToken);
    tampered["data"].as_object()["kubeconfig"] = std::string(tampered["data"].at("kubeconfig").as_string()) + "# x\n";
    EXPECT_THROW(verify_cluster_info(tampered, kToken, {pin}), JoinError);
    // "alg": "none" is not a way around the signature.
    auto unsigned_cm = cluster_info(pki.ca(), kToken);
    unsigned_cm["data"].as_object()["jws-kubeconfig-abcdef"] = base64url_encode(R"({"alg":"none"})") + "..";
    EXPECT_THROW(verify_cluster_info(unsigned_cm, kToken, {pin}), JoinError);
}

TEST(Pki, PinIsTheSha256OfTheSubjectPublicKeyInfo) {
    Pki pki;
    // The same value `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` gives (kubeadm's recipe).
    const auto cmd = "openssl x509 -pubkey -noout -in " + (pki.dir / "ca.crt").string() +
                     " | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1 > " + (pki.dir / "pin").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    auto expected = slurp(pki.dir / "pin");
    expected.pop_back();
    EXPECT_EQ(public_key_pin(pki.ca()), "sha256:" + expected);
}

TEST(Pki, SelfSignedIsTheCaNotTheServer) {
    Pki pki;
    EXPECT_TRUE(is_self_signed(pki.ca()));
    EXPECT_FALSE(is_self_signed(slurp(pki.dir / "srv.crt")));
}

TEST(Pki, CsrCarriesTheNodeIdentityAndSans) {
    const auto key = generate_private_key_pem();
    EXPECT_NE(key.find("BEGIN PRIVATE KEY"), std::string::npos);
    CsrSubject subject{"system:node:node1", {"system:nodes"}, {"node1"}, {"127.0.0.1"}};
    const auto pem = make_csr_pem(key, subject);
    BIO *bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509_REQ *req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ASSERT_NE(req, nullptr);
    char cn[128] = {}, o[128] = {};
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_organizationName, o, sizeof o);
    EXPECT_STREQ(cn, "system:node:node1");
    EXPECT_STREQ(o, "system:nodes");
    EVP_PKEY *pub = X509_REQ_get_pubkey(req);
    EXPECT_EQ(X509_REQ_verify(req, pub), 1);
    EVP_PKEY_free(pub);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    ASSERT_NE(exts, nullptr);
    EXPECT_EQ(sk_X509_EXTENSION_num(exts), 1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    // A name cannot smuggle in another SAN through OpenSSL's list syntax.
    EXPECT_THROW(make_csr_pem(key, CsrSubject{"system:node:n", {"system:nodes"}, {"n,IP:1.2.3.4"}, {}}), PkiError);
    // A client CSR has no SANs (the approver refuses client CSRs with them).
    EXPECT_NE(client_csr_pem(key, "node1").find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
}

TEST(Rotation, BetweenSeventyAndNinetyPercentOfTheLifetime) {
    const auto t0 = std::chrono::system_clock::from_time_t(1'800'000'000);
    const Validity v{t0, t0 + std::chrono::hours(100)};
    EXPECT_EQ(rotation_time(v, 0.0), t0 + std::chrono::hours(70));
    EXPECT_EQ(rotation_time(v, 1.0), t0 + std::chrono::hours(90));
    EXPECT_EQ(rotation_time(v, 0.5), t0 + std::chrono::hours(80));
    EXPECT_EQ(rotation_time(v, 7.0), t0 + std::chrono::hours(90)) << "jitter is clamped";
}

TEST(Credentials, WrittenPrivateAndUsableThenRefusedWhenMismatched) {
    Pki pki;
    const auto state = pki.dir / "state";
    auto paths = credential_paths(state);
    const auto cert = slurp(pki.dir / "srv.crt"), key = slurp(pki.dir / "srv.key");
    write_node_credentials(paths, "https://127.0.0.1:6443", pki.ca(), cert, key);
    EXPECT_EQ(fs::status(paths.kubeconfig).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(fs::status(paths.client_pem).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(fs::status(paths.client_pem.parent_path()).permissions() & fs::perms::all, fs::perms::owner_all);
    std::string why;
    EXPECT_TRUE(credentials_usable(paths.kubeconfig, std::chrono::seconds(60), "localhost", {}, why)) << why;
    EXPECT_TRUE(credentials_usable(paths.kubeconfig, std::chrono::seconds(60), "localhost", {public_key_pin(pki.ca())}, why))
        << why;
    // Another node's certificate, or another cluster's CA: not reused.
    EXPECT_FALSE(credentials_usable(paths.kubeconfig, std::chrono::seconds(60), "system:node:other", {}, why));
    EXPECT_NE(why.find("system:node:other"), std::string::npos) << why;
    EXPECT_FALSE(credentials_usable(paths.kubeconfig, std::chrono::seconds(60), "localhost",
                                    {"sha256:" + std::string(64, '0')}, why));
    const auto kc = systemk::kube::load_kubeconfig(paths.kubeconfig);
    EXPECT_EQ(kc.ca_pem, pki.ca());
    EXPECT_EQ(kc.client_cert_file, paths.client_pem);
    EXPECT_EQ(kc.client_key_file, paths.client_pem);
    // The test certificate lives one day: with a two-day margin it counts as expiring.
    EXPECT_FALSE(credentials_usable(paths.kubeconfig, std::chrono::hours(48), "localhost", {}, why));
    // A key that is not the certificate's is refused before anything is replaced.
    EXPECT_THROW(write_certificate_and_key(paths.client_pem, cert, slurp(pki.dir / "ca.key")), PkiError);
    EXPECT_TRUE(credentials_usable(paths.kubeconfig, std::chrono::seconds(60), "localhost", {}, why)) << why;
    EXPECT_FALSE(credentials_usable(state / "missing", std::chrono::seconds(60), "localhost", {}, why));
}
