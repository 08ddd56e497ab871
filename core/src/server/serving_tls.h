#pragma once
// The kubelet API's TLS side: the serving certificate (files that are re-read when they change,
// or a self-signed one made at start), TLS 1.2 at least, and client certificates requested
// (never required: a request may authenticate with a bearer token instead) and checked against
// the client CA. A new connection gets the context current at accept time; connections already
// open keep theirs.
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace systemk::server {

class TlsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct KeyPair {
    std::string cert_pem;
    std::string key_pem;  // never logged
};

// A self-signed serving certificate (ECDSA P-256, one year) for these DNS names and IP
// addresses. Throws TlsError.
KeyPair make_self_signed(const std::string &common_name, const std::vector<std::string> &dns_names,
                         const std::vector<std::string> &ip_addresses);

// "AB:CD:..." SHA-256 of the first certificate's DER, as browsers and openssl print it.
std::string sha256_fingerprint(const std::string &cert_pem);

class ServingTls {
public:
    // Files: read now (TlsError when unusable) and again whenever either file's modification
    // time or size changes. `client_ca_pem`: the CAs client certificates must chain to.
    ServingTls(std::filesystem::path cert_file, std::filesystem::path key_file, std::string client_ca_pem);
    // A fixed pair (the self-signed certificate).
    ServingTls(KeyPair pair, std::string client_ca_pem);

    // The context for a new connection. A changed file pair that does not load (a half-written
    // renewal) is logged and the previous context stays in use.
    std::shared_ptr<boost::asio::ssl::context> current();

private:
    struct Stamp {
        std::filesystem::file_time_type cert_time, key_time;
        std::uintmax_t cert_size = 0, key_size = 0;
        bool operator==(const Stamp &) const = default;
    };
    Stamp stamp() const;
    std::shared_ptr<boost::asio::ssl::context> build(const KeyPair &pair) const;

    std::filesystem::path cert_file_, key_file_;
    std::string client_ca_pem_;
    std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> context_;
    Stamp loaded_{};
};

// The user a verified client certificate names (CN) and its groups (O), or empty when the peer
// sent no certificate or it did not verify against the client CA.
struct CertificateUser {
    std::string name;
    std::vector<std::string> groups;
};
CertificateUser verified_client_user(const SSL *ssl);

}  // namespace systemk::server
