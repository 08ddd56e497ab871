#include "kube/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace systemk::kube {
namespace {

std::string read_file(const std::filesystem::path &p, const std::string &what) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw KubeconfigError("cannot read " + what + " " + p.string());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

YAML::Node named(const YAML::Node &list, const std::string &name, const std::string &kind, const std::string &file) {
    if (list && list.IsSequence())
        for (const auto &item : list)
            if (item["name"] && item["name"].as<std::string>() == name) return item[kind];
    throw KubeconfigError(file + ": no " + kind + " named '" + name + "'");
}

std::string string_of(const YAML::Node &n, const char *key) {
    return (n && n[key] && n[key].IsScalar()) ? n[key].as<std::string>() : std::string();
}

// "<key>-data" (base64) or "<key>" (a file path relative to the kubeconfig).
std::string file_or_data(const YAML::Node &n, const std::string &key, const std::filesystem::path &dir,
                         const std::string &file) {
    const auto data = string_of(n, (key + "-data").c_str());
    if (!data.empty()) {
        try {
            return base64_decode(data);
        } catch (const std::invalid_argument &) {
            throw KubeconfigError(file + ": " + key + "-data is not valid base64");
        }
    }
    const auto path = string_of(n, key.c_str());
    if (path.empty()) return {};
    std::filesystem::path p(path);
    if (p.is_relative()) p = dir / p;
    return read_file(p, key);
}

}  // namespace

std::filesystem::path find_kubeconfig(const std::string &flag_value) {
    if (!flag_value.empty()) return flag_value;
    if (const char *env = std::getenv("KUBECONFIG"); env && *env) {
        std::string first(env);
        first = first.substr(0, first.find(':'));
        if (!first.empty()) return first;
    }
    if (const char *home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".kube" / "config";
    return "/root/.kube/config";
}

void split_server_url(const std::string &url, std::string &host, std::string &port) {
    if (url.rfind("https://", 0) != 0) throw KubeconfigError("server '" + url + "' is not an https:// URL");
    auto rest = url.substr(8);
    rest = rest.substr(0, rest.find('/'));
    port = "443";
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) throw KubeconfigError("server '" + url + "' has an unclosed IPv6 address");
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        host = rest.substr(0, colon);
        if (colon != std::string::npos) port = rest.substr(colon + 1);
    }
    if (host.empty() || port.empty()) throw KubeconfigError("server '" + url + "' has no host or port");
}

Kubeconfig load_kubeconfig(const std::filesystem::path &path) {
    const auto file = path.string();
    YAML::Node root;
    try {
        root = YAML::Load(read_file(path, "kubeconfig"));
    } catch (const YAML::Exception &e) {
        throw KubeconfigError(file + ": invalid YAML: " + e.what());
    }
    if (!root.IsMap()) throw KubeconfigError(file + ": not a kubeconfig");
    const auto current = string_of(root, "current-context");
    if (current.empty()) throw KubeconfigError(file + ": no current-context");
    const auto context = named(root["contexts"], current, "context", file);
    const auto cluster = named(root["clusters"], string_of(context, "cluster"), "cluster", file);
    const auto dir = path.parent_path();
    Kubeconfig kc;
    kc.source = path;
    kc.server = string_of(cluster, "server");
    split_server_url(kc.server, kc.host, kc.port);
    kc.ca_pem = file_or_data(cluster, "certificate-authority", dir, file);
    kc.insecure_skip_tls_verify = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    const auto user_name = string_of(context, "user");
    if (!user_name.empty()) {
        const auto user = named(root["users"], user_name, "user", file);
        kc.client_cert_pem = file_or_data(user, "client-certificate", dir, file);
        kc.client_key_pem = file_or_data(user, "client-key", dir, file);
        if (const auto cf = string_of(user, "client-certificate"); !cf.empty())
            kc.client_cert_file = std::filesystem::path(cf).is_relative() ? dir / cf : std::filesystem::path(cf);
        if (const auto kf = string_of(user, "client-key"); !kf.empty())
            kc.client_key_file = std::filesystem::path(kf).is_relative() ? dir / kf : std::filesystem::path(kf);
        kc.token = string_of(user, "token");
        if (const auto tf = string_of(user, "tokenFile"); !tf.empty()) {
            kc.token_file = std::filesystem::path(tf).is_relative() ? dir / tf : std::filesystem::path(tf);
            kc.token = read_file(kc.token_file, "tokenFile");
            while (!kc.token.empty() && (kc.token.back() == '\n' || kc.token.back() == '\r')) kc.token.pop_back();
        }
    }
    if (kc.client_cert_pem.empty() != kc.client_key_pem.empty())
        throw KubeconfigError(file + ": client-certificate and client-key must be given together");
    return kc;
}

}  // namespace systemk::kube
