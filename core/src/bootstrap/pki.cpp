#include "bootstrap/pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace systemk::bootstrap {
namespace {

template <class T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;

Bio memory_bio(const std::string &text) {
    Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw PkiError("out of memory");
    return bio;
}

std::string bio_text(BIO *bio) {
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(n));
}

Key read_key(const std::string &pem) {
    auto bio = memory_bio(pem);
    Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) throw PkiError("not a PEM private key");
    return key;
}

Cert read_cert(const std::string &pem) {
    auto bio = memory_bio(pem);
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) throw PkiError("not a PEM certificate");
    return cert;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME *t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) throw PkiError("certificate has an unreadable validity time");
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::string generate_private_key_pem() {
    Key key(EVP_EC_gen("P-256"));
    if (!key) throw PkiError("cannot generate an ECDSA P-256 key");
    Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw PkiError("cannot encode the private key");
    return bio_text(out.get());
}

std::string make_csr_pem(const std::string &key_pem, const CsrSubject &subject) {
    const auto key = read_key(key_pem);
    Req req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) throw PkiError("out of memory");
    X509_NAME *name = X509_REQ_get_subject_name(req.get());
    auto add = [&](const char *field, const std::string &value) {
        if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char *>(value.data()),
                                       static_cast<int>(value.size()), -1, 0) != 1)
            throw PkiError(std::string("cannot set the request's ") + field);
    };
    for (const auto &o : subject.organizations) add("O", o);
    add("CN", subject.common_name);
    if (!subject.dns_names.empty() || !subject.ip_addresses.empty()) {
        std::string sans;
        for (const auto &d : subject.dns_names) sans += (sans.empty() ? "DNS:" : ",DNS:") + d;
        for (const auto &ip : subject.ip_addresses) sans += (sans.empty() ? "IP:" : ",IP:") + ip;
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
        const bool ok = exts && ext && sk_X509_EXTENSION_push(exts, ext) > 0 && X509_REQ_add_extensions(req.get(), exts) == 1;
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        if (!ok) throw PkiError("cannot add the subject alternative names " + sans);
    }
    if (X509_REQ_set_pubkey(req.get(), key.get()) != 1 || X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
        throw PkiError("cannot sign the certificate request");
    Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) throw PkiError("cannot encode the certificate request");
    return bio_text(out.get());
}

Validity certificate_validity(const std::string &cert_pem) {
    const auto cert = read_cert(cert_pem);
    return {to_time_point(X509_get0_notBefore(cert.get())), to_time_point(X509_get0_notAfter(cert.get()))};
}

std::string public_key_pin(const std::string &cert_pem) {
    const auto cert = read_cert(cert_pem);
    unsigned char *der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
    if (len <= 0) throw PkiError("cannot encode the certificate's public key");
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, static_cast<size_t>(len), digest);
    OPENSSL_free(der);
    static const char *hex = "0123456789abcdef";
    std::string pin = "sha256:";
    for (unsigned char b : digest) {
        pin += hex[b >> 4];
        pin += hex[b & 15];
    }
    return pin;
}

std::string hmac_sha256(const std::string &key, const std::string &data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char *>(data.data()),
              data.size(), out, &len))
        throw PkiError("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char *>(out), len);
}

bool is_self_signed(const std::string &cert_pem) {
    const auto cert = read_cert(cert_pem);
    return X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) == 0;
}

bool key_matches_certificate(const std::string &key_pem, const std::string &cert_pem) {
    try {
        const auto key = read_key(key_pem);
        const auto cert = read_cert(cert_pem);
        return X509_check_private_key(cert.get(), key.get()) == 1;
    } catch (const PkiError &) {
        return false;
    }
}

}  // namespace systemk::bootstrap
