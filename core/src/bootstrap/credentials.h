#pragma once
// Where the node keeps the credentials it obtained itself, and how they are written: one PEM
// file with certificate and key (replaced atomically, so a reader never pairs a new certificate
// with an old key) and a kubeconfig pointing at it, all 0600 under <state-dir>/pki.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace systemk::bootstrap {

struct CredentialPaths {
    std::filesystem::path kubeconfig;  // <state>/pki/kubeconfig
    std::filesystem::path client_pem;  // <state>/pki/client-current.pem (certificate + key)
    std::filesystem::path pending_key; // <state>/pki/client-pending.key, while a CSR waits
};
CredentialPaths credential_paths(const std::filesystem::path &state_dir);

// Writes the client PEM and a kubeconfig for `server` trusting `ca_pem`.
void write_node_credentials(const CredentialPaths &paths, const std::string &server, const std::string &ca_pem,
                            const std::string &cert_pem, const std::string &key_pem);
// Certificate and key into one file (rotation: only this file changes).
void write_certificate_and_key(const std::filesystem::path &pem, const std::string &cert_pem, const std::string &key_pem);

// `pem` holds a certificate and its key, valid for at least `margin` more. Never throws.
bool certificate_file_usable(const std::filesystem::path &pem, std::chrono::seconds margin, std::string &why);

// The kubeconfig loads, has a client certificate for `common_name` with its key, valid for at
// least `margin` more, and (when `ca_pins` are given) trusts a CA with one of those pins.
// Never throws; `why` says what is not usable.
bool credentials_usable(const std::filesystem::path &kubeconfig, std::chrono::seconds margin, const std::string &common_name,
                        const std::vector<std::string> &ca_pins, std::string &why);

}  // namespace systemk::bootstrap
