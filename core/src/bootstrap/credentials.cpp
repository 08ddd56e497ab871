#include "bootstrap/credentials.h"

#include <boost/json.hpp>

#include <chrono>

#include "bootstrap/pki.h"
#include "kube/kubeconfig.h"
#include "util/private_file.h"

namespace systemk::bootstrap {

CredentialPaths credential_paths(const std::filesystem::path &state_dir) {
    return {state_dir / "pki" / "kubeconfig", state_dir / "pki" / "client-current.pem"};
}

void write_certificate_and_key(const std::filesystem::path &pem, const std::string &cert_pem, const std::string &key_pem) {
    if (!key_matches_certificate(key_pem, cert_pem)) throw PkiError("the issued certificate does not match the key");
    util::write_private_file(pem, cert_pem + (cert_pem.ends_with('\n') ? "" : "\n") + key_pem);
}

void write_node_credentials(const CredentialPaths &paths, const std::string &server, const std::string &ca_pem,
                            const std::string &cert_pem, const std::string &key_pem) {
    write_certificate_and_key(paths.client_pem, cert_pem, key_pem);
    // JSON is YAML: no quoting rules of our own for the server URL or the paths.
    boost::json::object cluster{{"server", server}};
    if (!ca_pem.empty()) cluster["certificate-authority-data"] = kube::base64_encode(ca_pem);  // else the system's CAs
    const boost::json::object kc{
        {"apiVersion", "v1"},
        {"kind", "Config"},
        {"clusters", boost::json::array{{{"name", "default"}, {"cluster", cluster}}}},
        {"users", boost::json::array{{{"name", "default"},
                                      {"user", {{"client-certificate", paths.client_pem.string()},
                                                {"client-key", paths.client_pem.string()}}}}}},
        {"contexts", boost::json::array{{{"name", "default"}, {"context", {{"cluster", "default"}, {"user", "default"}}}}}},
        {"current-context", "default"},
    };
    util::write_private_file(paths.kubeconfig, boost::json::serialize(kc) + "\n");
}

bool credentials_usable(const std::filesystem::path &kubeconfig, std::chrono::seconds margin, std::string &why) {
    std::error_code ec;
    if (!std::filesystem::exists(kubeconfig, ec)) {
        why = kubeconfig.string() + " does not exist";
        return false;
    }
    try {
        const auto kc = kube::load_kubeconfig(kubeconfig);
        if (kc.client_cert_pem.empty()) {
            why = kubeconfig.string() + " has no client certificate";
            return false;
        }
        if (!key_matches_certificate(kc.client_key_pem, kc.client_cert_pem)) {
            why = "the client key in " + kubeconfig.string() + " does not belong to its certificate";
            return false;
        }
        if (certificate_validity(kc.client_cert_pem).not_after < std::chrono::system_clock::now() + margin) {
            why = "the client certificate in " + kubeconfig.string() + " has expired";
            return false;
        }
        return true;
    } catch (const std::exception &e) {
        why = e.what();
        return false;
    }
}

}  // namespace systemk::bootstrap
