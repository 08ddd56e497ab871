#include "bootstrap/cluster_info.h"

#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>

#include "bootstrap/pki.h"
#include "kube/kubeconfig.h"

namespace systemk::bootstrap {
namespace {

bool all_of_class(const std::string &s, size_t n) {
    return s.size() == n &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

std::optional<std::string> data_entry(const boost::json::object &cm, const std::string &key) {
    const auto *data = cm.if_contains("data");
    if (!data || !data->is_object()) return std::nullopt;
    const auto *v = data->get_object().if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

}  // namespace

std::string base64url_encode(const std::string &bytes) {
    auto s = kube::base64_encode(bytes);
    for (auto &c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!s.empty() && s.back() == '=') s.pop_back();
    return s;
}

std::string base64url_decode(const std::string &text) {
    std::string s = text;
    for (auto &c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4) s += '=';
    try {
        return kube::base64_decode(s);
    } catch (const std::exception &) {
        throw JoinError("malformed base64url in a JWS");
    }
}

BootstrapToken parse_bootstrap_token(const std::string &text) {
    const auto dot = text.find('.');
    BootstrapToken t;
    if (dot != std::string::npos) {
        t.id = text.substr(0, dot);
        t.secret = text.substr(dot + 1);
    }
    if (!all_of_class(t.id, 6) || !all_of_class(t.secret, 16))
        throw JoinError("--token must be a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16} "
                        "(kubeadm token create prints one)");
    return t;
}

std::string parse_ca_pin(const std::string &text) {
    std::string pin = text;
    std::transform(pin.begin(), pin.end(), pin.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool ok = pin.rfind("sha256:", 0) == 0 && pin.size() == 7 + 64 &&
                    std::all_of(pin.begin() + 7, pin.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!ok)
        throw JoinError("--ca-cert-hash '" + text +
                        "' is not sha256:<64 hex digits> (the SHA-256 of the CA's public key, as kubeadm prints it)");
    return pin;
}

ClusterInfo verify_cluster_info(const boost::json::object &config_map, const BootstrapToken &token,
                                const std::vector<std::string> &ca_pins) {
    const auto kubeconfig = data_entry(config_map, "kubeconfig");
    if (!kubeconfig) throw JoinError("the cluster-info configMap has no kubeconfig entry");
    const auto jws = data_entry(config_map, "jws-kubeconfig-" + token.id);
    if (!jws)
        throw JoinError("cluster-info is not signed for token id '" + token.id +
                        "': the token does not exist, has expired, or is not usable for signing "
                        "(or the controller-manager runs without the bootstrapsigner controller)");
    // A detached JWS: header..signature, the payload being the kubeconfig itself.
    const auto first = jws->find('.');
    const auto last = jws->rfind('.');
    if (first == std::string::npos || last != first + 1) throw JoinError("cluster-info carries a malformed signature");
    const auto header_b64 = jws->substr(0, first);
    boost::system::error_code ec;
    const auto header = boost::json::parse(base64url_decode(header_b64), ec);
    const auto *alg = (!ec && header.is_object()) ? header.get_object().if_contains("alg") : nullptr;
    if (!alg || !alg->is_string() || alg->get_string() != "HS256")
        throw JoinError("cluster-info is signed with an unexpected algorithm (want HS256)");
    // bootstrapsigner's key is the token's secret half (k8s.io/cluster-bootstrap's detached JWS).
    const auto expected = hmac_sha256(token.secret, header_b64 + "." + base64url_encode(*kubeconfig));
    const auto given = base64url_decode(jws->substr(last + 1));
    if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0)
        throw JoinError("cluster-info's signature does not match the bootstrap token: a wrong token secret, or "
                        "someone between this machine and the server; refusing to trust it");

    ClusterInfo info;
    try {
        const auto root = YAML::Load(*kubeconfig);
        const auto cluster = root["clusters"][0]["cluster"];
        info.server = cluster["server"].as<std::string>("");
        info.ca_pem = kube::base64_decode(cluster["certificate-authority-data"].as<std::string>(""));
    } catch (const std::exception &) {
        throw JoinError("cluster-info's kubeconfig is not readable");
    }
    if (info.ca_pem.empty()) throw JoinError("cluster-info's kubeconfig has no certificate-authority-data");
    std::string pin;
    try {
        pin = public_key_pin(info.ca_pem);
    } catch (const PkiError &e) {
        throw JoinError(std::string("cluster-info's CA: ") + e.what());
    }
    if (std::find(ca_pins.begin(), ca_pins.end(), pin) == ca_pins.end())
        throw JoinError("the cluster's CA has public key hash " + pin +
                        ", which is not the --ca-cert-hash given; refusing to trust it (no credential was sent)");
    return info;
}

}  // namespace systemk::bootstrap
