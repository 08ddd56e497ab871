#include "pods/cache_lookup.h"

#include "kube/kubeconfig.h"

namespace systemk::pods {
namespace {

void add_strings(const boost::json::object &obj, const char *field, bool base64, ObjectLookup::Data &out) {
    const auto *d = obj.if_contains(field);
    if (!d || !d->is_object()) return;
    for (const auto &kv : d->get_object()) {
        if (!kv.value().is_string()) continue;
        const std::string value(kv.value().get_string());
        try {
            out[std::string(kv.key())] = base64 ? kube::base64_decode(value) : value;
        } catch (const std::invalid_argument &) {
            // A value the API server would never send; skip it rather than fail the pod.
        }
    }
}

}  // namespace

std::optional<ObjectLookup::Data> CacheLookup::config_map(const std::string &ns, const std::string &name) const {
    const auto obj = config_maps_.get(ns + "/" + name);
    if (!obj) return std::nullopt;
    Data out;
    add_strings(*obj, "data", false, out);
    add_strings(*obj, "binaryData", true, out);
    return out;
}

std::optional<ObjectLookup::Data> CacheLookup::secret(const std::string &ns, const std::string &name) const {
    const auto obj = secrets_.get(ns + "/" + name);
    if (!obj) return std::nullopt;
    Data out;
    add_strings(*obj, "data", true, out);
    add_strings(*obj, "stringData", false, out);
    return out;
}

std::optional<std::string> CacheLookup::service_account_token(const kube::TokenRequestSpec &spec) const {
    if (!tokens_) return std::nullopt;
    return tokens_->get(spec);
}

}  // namespace systemk::pods
