#include "server/serving_tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace systemk::server {
namespace {

namespace ssl = boost::asio::ssl;

template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

void check(bool ok, const char *what) {
    if (!ok) throw TlsError(std::string("cannot make the serving certificate: ") + what);
}

std::string bio_text(BIO *bio) {
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(n));
}

void add_extension(X509 *cert, int nid, const std::string &value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    check(ext && X509_add_ext(cert, ext.get(), -1) == 1, "extension");
}

std::string read_file(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw TlsError("cannot read " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// OpenSSL verifies the client's chain; its verdict is read after the handshake, so that a
// request without (or with a bad) certificate can still authenticate with a bearer token.
int accept_and_record(int, X509_STORE_CTX *) { return 1; }

}  // namespace

KeyPair make_self_signed(const std::string &common_name, const std::vector<std::string> &dns_names,
                         const std::vector<std::string> &ip_addresses) {
    PkeyPtr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "key");
    X509Ptr cert(X509_new());
    check(cert != nullptr, "certificate");
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    check(RAND_bytes(serial, sizeof serial) == 1, "serial");
    serial[0] &= 0x7f;  // a positive serial
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, nullptr);
    check(bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())), "serial");
    BN_free(bn);
    // Back-dated a little: clocks of the API server and the node may differ.
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
    X509_NAME *name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char *>(common_name.c_str()),
                                     -1, -1, 0) == 1,
          "subject");
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), key.get());
    std::string san;
    for (const auto &d : dns_names)
        if (!d.empty()) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto &ip : ip_addresses)
        if (!ip.empty()) san += (san.empty() ? "IP:" : ",IP:") + ip;
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
    if (!san.empty()) add_extension(cert.get(), NID_subject_alt_name, san);
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "signature");

    KeyPair pair;
    BioPtr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1, "PEM");
    check(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM");
    pair.cert_pem = bio_text(cert_bio.get());
    pair.key_pem = bio_text(key_bio.get());
    return pair;
}

std::string sha256_fingerprint(const std::string &cert_pem) {
    BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) throw TlsError("not a PEM certificate");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert.get(), EVP_sha256(), md, &n) != 1) throw TlsError("cannot digest the certificate");
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        if (i) out += ':';
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

ServingTls::ServingTls(std::filesystem::path cert_file, std::filesystem::path key_file, std::string client_ca_pem)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), client_ca_pem_(std::move(client_ca_pem)) {
    loaded_ = stamp();
    context_ = build({read_file(cert_file_), read_file(key_file_)});
}

ServingTls::ServingTls(KeyPair pair, std::string client_ca_pem) : client_ca_pem_(std::move(client_ca_pem)) {
    context_ = build(pair);
}

ServingTls::Stamp ServingTls::stamp() const {
    Stamp s;
    std::error_code ec;
    s.cert_time = std::filesystem::last_write_time(cert_file_, ec);
    s.key_time = std::filesystem::last_write_time(key_file_, ec);
    s.cert_size = std::filesystem::file_size(cert_file_, ec);
    s.key_size = std::filesystem::file_size(key_file_, ec);
    return s;
}

std::shared_ptr<ssl::context> ServingTls::current() {
    std::lock_guard lock(mutex_);
    if (cert_file_.empty()) return context_;
    const auto now = stamp();
    if (now == loaded_) return context_;
    loaded_ = now;  // a bad pair is reported once, not on every connection
    try {
        context_ = build({read_file(cert_file_), read_file(key_file_)});
        spdlog::info("kubelet API: serving certificate {} reloaded (SHA-256 {})", cert_file_.string(),
                     sha256_fingerprint(read_file(cert_file_)));
    } catch (const std::exception &e) {
        spdlog::error("kubelet API: keeping the previous serving certificate: {}", e.what());
    }
    return context_;
}

std::shared_ptr<ssl::context> ServingTls::build(const KeyPair &pair) const {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    const auto where = cert_file_.empty() ? std::string("the serving certificate") : cert_file_.string();
    ctx->use_certificate_chain(boost::asio::buffer(pair.cert_pem), ec);
    if (ec) throw TlsError(where + " is not a PEM certificate chain");
    ctx->use_private_key(boost::asio::buffer(pair.key_pem), ssl::context::pem, ec);
    if (ec) throw TlsError((key_file_.empty() ? std::string("the serving key") : key_file_.string()) +
                           " is not a PEM key matching " + where);
    // Every certificate of the client CA bundle is trusted and named in the CertificateRequest.
    BioPtr bio(BIO_new_mem_buf(client_ca_pem_.data(), static_cast<int>(client_ca_pem_.size())));
    int cas = 0;
    while (X509Ptr ca{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->native_handle()), ca.get());
        SSL_CTX_add_client_CA(ctx->native_handle(), ca.get());
        ++cas;
    }
    ERR_clear_error();
    if (cas > 0) {
        ctx->set_verify_mode(ssl::verify_peer);
        SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER, accept_and_record);
    }
    return ctx;
}

CertificateUser verified_client_user(const SSL *ssl) {
    CertificateUser user;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (!peer || SSL_get_verify_result(ssl) != X509_V_OK) return user;
    const X509_NAME *subject = X509_get_subject_name(peer);
    for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
        const X509_NAME_ENTRY *entry = X509_NAME_get_entry(subject, i);
        const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
        if (nid != NID_commonName && nid != NID_organizationName) continue;
        unsigned char *utf8 = nullptr;
        const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
        if (n < 0) continue;
        std::string value(reinterpret_cast<char *>(utf8), static_cast<size_t>(n));
        OPENSSL_free(utf8);
        if (nid == NID_commonName) user.name = value;
        else user.groups.push_back(value);
    }
    if (user.name.empty()) user.groups.clear();
    return user;
}

}  // namespace systemk::server
