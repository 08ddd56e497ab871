#pragma once
// kubeconfig files: the current context's server, CA, client certificate/key or token.
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace systemk::kube {

class KubeconfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Kubeconfig {
    std::filesystem::path source;  // the file it came from
    std::string server;            // https://host:port
    std::string host;
    std::string port;
    std::string ca_pem;            // empty: system trust store
    bool insecure_skip_tls_verify = false;
    std::string client_cert_pem;
    std::string client_key_pem;    // never logged
    std::string token;             // never logged
    std::filesystem::path token_file;
    std::filesystem::path client_key_file;  // when the key is a file: pods must never see it
    std::filesystem::path client_cert_file; // when a file: re-read when it changes (rotation)
};

// --kubeconfig, then $KUBECONFIG (first entry), then ~/.kube/config.
std::filesystem::path find_kubeconfig(const std::string &flag_value);

// Reads the current context. Relative file paths are relative to the kubeconfig's directory.
// Throws KubeconfigError with a message that names the file and the problem.
Kubeconfig load_kubeconfig(const std::filesystem::path &file);

// Splits "https://host:port/..." (IPv6 in brackets). Throws KubeconfigError.
void split_server_url(const std::string &url, std::string &host, std::string &port);

std::string base64_decode(const std::string &text);  // throws std::invalid_argument
std::string base64_encode(const std::string &bytes);

}  // namespace systemk::kube
