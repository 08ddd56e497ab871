#include "pods/environment.h"

#include <cstdint>
#include <map>

#include "pods/json_access.h"
#include "pods/quantity.h"
#include "pods/variable_expansion.h"
#include "units/systemd_quoting.h"

namespace systemk::pods {
namespace {

class Builder {
public:
    void set(const std::string &name, std::string value, bool sensitive = false) {
        index_[name] = value;
        env_.vars.emplace_back(name, std::move(value));
        if (sensitive) env_.sensitive.insert(name);
        else env_.sensitive.erase(name);
    }
    const std::set<std::string> &sensitive() const { return env_.sensitive; }
    const std::map<std::string, std::string> &index() const { return index_; }
    Environment take() { return std::move(env_); }
    void warn(std::string w) { env_.warnings.push_back(std::move(w)); }

private:
    Environment env_;
    std::map<std::string, std::string> index_;
};

std::string quoted_key(std::string_view path, std::string_view prefix) {
    // metadata.labels['key'] or metadata.labels["key"]
    auto rest = path.substr(prefix.size());
    if (rest.size() >= 4 && rest[0] == '[' && (rest[1] == '\'' || rest[1] == '"') && rest.back() == ']' &&
        rest[rest.size() - 2] == rest[1])
        return std::string(rest.substr(2, rest.size() - 4));
    return {};
}

std::string field_ref_value(const json::object &pod, const json::object &ref, const std::string &path,
                            const NodeContext &node) {
    const auto field = required_string(ref, "fieldPath", path);
    const auto *meta = optional_object(pod, "metadata", "");
    const auto *spec = optional_object(pod, "spec", "");
    auto meta_string = [&](std::string_view key) {
        return meta ? optional_string(*meta, key, "metadata").value_or("") : std::string();
    };
    if (field == "metadata.name") return meta_string("name");
    if (field == "metadata.namespace") return meta_string("namespace");
    if (field == "metadata.uid") return meta_string("uid");
    if (field == "spec.nodeName") return node.node_name;
    if (field == "spec.serviceAccountName")
        return spec ? optional_string(*spec, "serviceAccountName", "spec").value_or("") : "";
    if (field == "status.hostIP" || field == "status.podIP" || field == "status.podIPs") return node.internal_ip;
    for (std::string_view map_name : {"labels", "annotations"}) {
        const std::string prefix = "metadata." + std::string(map_name);
        if (field.starts_with(prefix + "[")) {
            const auto key = quoted_key(field, prefix);
            if (key.empty()) break;
            const auto *m = meta ? optional_object(*meta, map_name, "metadata") : nullptr;
            if (!m) return "";
            return optional_string(*m, key, prefix).value_or("");
        }
    }
    throw SpecError(join_path(path, "fieldPath"), "unsupported field '" + field + "'");
}

std::string resource_ref_value(const json::object &container, const json::object &ref, const std::string &path,
                               const NodeContext &node) {
    const auto resource = required_string(ref, "resource", path);
    const auto *resources = optional_object(container, "resources", "");
    const auto dot = resource.find('.');
    if (dot == std::string::npos) throw SpecError(join_path(path, "resource"), "unsupported resource '" + resource + "'");
    const auto kind = resource.substr(0, dot);   // limits | requests
    const auto name = resource.substr(dot + 1);  // cpu | memory | ephemeral-storage
    if ((kind != "limits" && kind != "requests") || (name != "cpu" && name != "memory" && name != "ephemeral-storage"))
        throw SpecError(join_path(path, "resource"), "unsupported resource '" + resource + "'");
    // Millicores or milli-bytes, exactly: ceil(amount / divisor) as the kubelet computes it.
    std::optional<int64_t> amount;
    if (resources)
        if (const auto *section = optional_object(*resources, kind, "resources"))
            if (const auto *q = section->if_contains(name)) {
                const auto text = q->is_string() ? std::string(q->get_string()) : json::serialize(*q);
                amount = parse_quantity_scaled(text, 3);
                if (!amount) throw SpecError("resources." + resource, "invalid or too large quantity '" + text.substr(0, 64) + "'");
            }
    if (!amount) {
        // Like the kubelet: an unset limit reads as the node's allocatable amount.
        if (name == "cpu") amount = node.allocatable_millicpu;
        else amount = node.allocatable_memory_bytes > INT64_MAX / 1000 ? INT64_MAX : node.allocatable_memory_bytes * 1000;
    }
    int64_t divisor = 1000;
    if (const auto *d = ref.if_contains("divisor")) {
        const auto text = d->is_string() ? std::string(d->get_string()) : json::serialize(*d);
        const auto parsed = parse_quantity_scaled(text, 3);
        if (!parsed || *parsed <= 0) throw SpecError(join_path(path, "divisor"), "invalid divisor '" + text.substr(0, 64) + "'");
        divisor = *parsed;
    }
    return std::to_string(*amount / divisor + (*amount % divisor != 0 ? 1 : 0));
}

// A key of a configMap or secret. Returns nullopt when an optional reference is missing.
std::optional<std::string> key_ref_value(const json::object &ref, const std::string &path, const std::string &ns,
                                         bool secret, const ObjectLookup &objects) {
    const auto name = required_string(ref, "name", path);
    const auto key = required_string(ref, "key", path);
    const bool optional = optional_bool(ref, "optional", path).value_or(false);
    const char *what = secret ? "secret" : "configMap";
    if (!objects.online()) {
        if (optional) return std::nullopt;
        throw SpecError(path, std::string("refers to ") + what + " '" + name + "', which cannot be read without a cluster");
    }
    const auto data = secret ? objects.secret(ns, name) : objects.config_map(ns, name);
    if (!data) {
        if (optional) return std::nullopt;
        throw SpecError(path, std::string(what) + " '" + name + "' not found");
    }
    const auto it = data->find(key);
    if (it == data->end()) {
        if (optional) return std::nullopt;
        throw SpecError(path, "key '" + key + "' not found in " + what + " '" + name + "'");
    }
    return it->second;
}

void add_env_from(Builder &b, const json::object &container, const std::string &cpath, const std::string &ns,
                  const ObjectLookup &objects) {
    const auto *list = optional_array(container, "envFrom", cpath);
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i) {
        const auto path = index_path(join_path(cpath, "envFrom"), i);
        const auto &source = as_object((*list)[i], path);
        const auto prefix = optional_string(source, "prefix", path).value_or("");
        for (const bool secret : {false, true}) {
            const char *field = secret ? "secretRef" : "configMapRef";
            const auto *ref = optional_object(source, field, path);
            if (!ref) continue;
            const auto rpath = join_path(path, field);
            const auto name = required_string(*ref, "name", rpath);
            const bool optional = optional_bool(*ref, "optional", rpath).value_or(false);
            if (!objects.online()) {
                if (optional) continue;
                throw SpecError(rpath, "refers to " + std::string(secret ? "secret" : "configMap") + " '" + name +
                                           "', which cannot be read without a cluster");
            }
            const auto data = secret ? objects.secret(ns, name) : objects.config_map(ns, name);
            if (!data) {
                if (optional) continue;
                throw SpecError(rpath, std::string(secret ? "secret" : "configMap") + " '" + name + "' not found");
            }
            for (const auto &[key, value] : *data) {
                const auto var = prefix + key;
                if (!units::is_valid_environment_name(var)) {
                    b.warn("skipped key '" + var + "' from " + rpath + ": not a valid environment variable name");
                    continue;
                }
                b.set(var, value, secret);
            }
        }
    }
}

}  // namespace

Environment resolve_environment(const json::object &pod, const json::object &container,
                                const std::string &cpath, const NodeContext &node, const ObjectLookup &objects) {
    Builder b;
    const auto *meta = optional_object(pod, "metadata", "");
    const auto ns = meta ? optional_string(*meta, "namespace", "metadata").value_or("default") : "default";
    const auto pod_name = meta ? optional_string(*meta, "name", "metadata").value_or("") : "";
    const auto *spec = optional_object(pod, "spec", "");
    auto hostname = spec ? optional_string(*spec, "hostname", "spec").value_or("") : "";
    b.set("HOSTNAME", hostname.empty() ? pod_name : hostname);
    if (!node.api_server_host.empty()) {
        b.set("KUBERNETES_SERVICE_HOST", node.api_server_host);
        b.set("KUBERNETES_SERVICE_PORT", node.api_server_port.empty() ? "443" : node.api_server_port);
    }
    if (!node.internal_ip.empty()) b.set("SYSTEMK_NODE_INTERNAL_IP", node.internal_ip);
    if (!node.external_ip.empty()) b.set("SYSTEMK_NODE_EXTERNAL_IP", node.external_ip);

    add_env_from(b, container, cpath, ns, objects);

    const auto *env = optional_array(container, "env", cpath);
    if (env) {
        for (size_t i = 0; i < env->size(); ++i) {
            const auto path = index_path(join_path(cpath, "env"), i);
            const auto &item = as_object((*env)[i], path);
            const auto name = required_string(item, "name", path);
            if (!units::is_valid_environment_name(name))
                throw SpecError(join_path(path, "name"),
                                "'" + name + "' cannot be passed through systemd (letters, digits and '_' only)");
            std::optional<std::string> value;
            bool sensitive = false;
            if (const auto *from = optional_object(item, "valueFrom", path)) {
                const auto fpath = join_path(path, "valueFrom");
                if (const auto *r = optional_object(*from, "fieldRef", fpath))
                    value = field_ref_value(pod, *r, join_path(fpath, "fieldRef"), node);
                else if (const auto *r2 = optional_object(*from, "resourceFieldRef", fpath))
                    value = resource_ref_value(container, *r2, join_path(fpath, "resourceFieldRef"), node);
                else if (const auto *r3 = optional_object(*from, "configMapKeyRef", fpath))
                    value = key_ref_value(*r3, join_path(fpath, "configMapKeyRef"), ns, false, objects);
                else if (const auto *r4 = optional_object(*from, "secretKeyRef", fpath)) {
                    value = key_ref_value(*r4, join_path(fpath, "secretKeyRef"), ns, true, objects);
                    sensitive = true;
                }
                else
                    throw SpecError(fpath, "no supported source (fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef)");
                if (!value) continue;  // optional and absent
            } else {
                const auto raw = optional_string(item, "value", path).value_or("");
                sensitive = references_any(raw, b.index(), b.sensitive());
                value = expand_references(raw, b.index());
            }
            if (value->find('\0') != std::string::npos)
                throw SpecError(path, "value contains a NUL byte, which no process environment can carry");
            if (!units::is_valid_utf8(*value))
                throw SpecError(path, "value is not valid UTF-8, which systemd refuses in Environment=");
            b.set(name, std::move(*value), sensitive);
        }
    }
    return b.take();
}

}  // namespace systemk::pods
