#include "bootstrap/credentials.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "bootstrap/pki.h"
#include "kube/kubeconfig.h"
#include "util/private_file.h"

namespace systemk::bootstrap {

CredentialPaths credential_paths(const std::filesystem::path &state_dir) {
    return {state_dir / "pki" / "kubeconfig", state_dir / "pki" / "client-current.pem", state_dir / "pki" / "client-pending.key"};
}

void write_certificate_and_key(const std::filesystem::path &pem, const std::string &cert_pem, const std::string &key_pem) {
    if (!key_matches_certificate(key_pem, cert_pem)) throw PkiError("the issued certificate does not match the key");
    util::write_private_file(pem, cert_pem + (cert_pem.ends_with('\n') ? "" : "\n") + key_pem);
}

void write_node_credentials(const CredentialPaths &paths, const std::string &server, const std::string &ca_pem,
                            const std::string &cert_pem, const std::string &key_pem) {
    // The key's directory is the owner's alone, also when it existed before.
    std::filesystem::create_directories(paths.client_pem.parent_path());
    std::filesystem::permissions(paths.client_pem.parent_path(), std::filesystem::perms::owner_all);
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

bool certificate_file_usable(const std::filesystem::path &pem, std::chrono::seconds margin, std::string &why) {
    std::ifstream in(pem);
    if (!in) {
        why = "no " + pem.string();
        return false;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
        if (!key_matches_certificate(text, text)) {
            why = pem.string() + " does not hold a certificate with its key";
            return false;
        }
        if (certificate_validity(text).not_after < std::chrono::system_clock::now() + margin) {
            why = pem.string() + " has expired";
            return false;
        }
    } catch (const std::exception &e) {
        why = e.what();
        return false;
    }
    return true;
}

bool credentials_usable(const std::filesystem::path &kubeconfig, std::chrono::seconds margin, const std::string &common_name,
                        const std::vector<std::string> &ca_pins, std::string &why) {
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
            why = "the client certificate in " + kubeconfig.string() + " has expired or is about to";
            return false;
        }
        if (const auto cn = certificate_common_name(kc.client_cert_pem); cn != common_name) {
            why = "the client certificate in " + kubeconfig.string() + " is for '" + cn + "', not " + common_name;
            return false;
        }
        if (!ca_pins.empty()) {
            const auto pins = kc.ca_pem.empty() ? std::vector<std::string>{} : public_key_pins(kc.ca_pem);
            const bool pinned = std::any_of(pins.begin(), pins.end(), [&](const std::string &p) {
                return std::find(ca_pins.begin(), ca_pins.end(), p) != ca_pins.end();
            });
            if (!pinned) {
                why = kubeconfig.string() + " trusts another cluster's CA than --ca-cert-hash names";
                return false;
            }
        }
        return true;
    } catch (const std::exception &e) {
        why = e.what();
        return false;
    }
}

}  // namespace systemk::bootstrap
