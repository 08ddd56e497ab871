#pragma once
// The node's own key material for TLS bootstrap and rotation: keys are made on this machine and
// never leave it; only certificate requests do.
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace systemk::bootstrap {

class PkiError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A new ECDSA P-256 private key (PKCS#8 PEM), as the kubelet makes them.
std::string generate_private_key_pem();

struct CsrSubject {
    std::string common_name;               // system:node:<name>
    std::vector<std::string> organizations;  // system:nodes
    std::vector<std::string> dns_names;    // serving certificates only
    std::vector<std::string> ip_addresses;
};
// A PKCS#10 request (PEM) for `subject`, signed with `key_pem`.
std::string make_csr_pem(const std::string &key_pem, const CsrSubject &subject);

struct Validity {
    std::chrono::system_clock::time_point not_before, not_after;
};
// The first certificate in `cert_pem`. Throws PkiError.
Validity certificate_validity(const std::string &cert_pem);

// kubeadm's CA pin: "sha256:" + hex SHA-256 of the certificate's DER SubjectPublicKeyInfo.
std::string public_key_pin(const std::string &cert_pem);

// HMAC-SHA256 (raw bytes).
std::string hmac_sha256(const std::string &key, const std::string &data);

// True when the first certificate in `cert_pem` names itself as its issuer (a placeholder).
bool is_self_signed(const std::string &cert_pem);

// True when `key_pem` is the private key of the first certificate in `cert_pem`.
bool key_matches_certificate(const std::string &key_pem, const std::string &cert_pem);

}  // namespace systemk::bootstrap
