#include "kube/referenced_objects.h"

#include <spdlog/spdlog.h>

namespace systemk::kube {
namespace {
namespace json = boost::json;

std::string str(const json::object &o, const char *key) {
    const auto *v = o.if_contains(key);
    return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

const json::object *obj(const json::object &o, const char *key) {
    const auto *v = o.if_contains(key);
    return (v && v->is_object()) ? &v->get_object() : nullptr;
}

const json::array *arr(const json::object &o, const char *key) {
    const auto *v = o.if_contains(key);
    return (v && v->is_array()) ? &v->get_array() : nullptr;
}

}  // namespace

std::set<ObjectRef> references_of(const json::object &pod) {
    std::set<ObjectRef> refs;
    const auto *meta = obj(pod, "metadata");
    const auto *spec = obj(pod, "spec");
    if (!meta || !spec) return refs;
    auto ns = str(*meta, "namespace");
    if (ns.empty()) ns = "default";
    auto add = [&](const char *kind, const std::string &name) {
        if (!name.empty()) refs.insert({kind, ns, name});
    };
    auto add_volume_source = [&](const json::object &v) {
        if (const auto *cm = obj(v, "configMap")) add("configmaps", str(*cm, "name"));
        if (const auto *s = obj(v, "secret")) add("secrets", str(*s, "secretName").empty() ? str(*s, "name") : str(*s, "secretName"));
        if (const auto *p = obj(v, "projected"))
            if (const auto *sources = arr(*p, "sources"))
                for (const auto &src : *sources)
                    if (src.is_object()) {
                        if (const auto *cm = obj(src.get_object(), "configMap")) add("configmaps", str(*cm, "name"));
                        if (const auto *s = obj(src.get_object(), "secret")) add("secrets", str(*s, "name"));
                    }
    };
    if (const auto *volumes = arr(*spec, "volumes"))
        for (const auto &v : *volumes)
            if (v.is_object()) add_volume_source(v.get_object());
    for (const char *list : {"initContainers", "containers"}) {
        const auto *containers = arr(*spec, list);
        if (!containers) continue;
        for (const auto &c : *containers) {
            if (!c.is_object()) continue;
            if (const auto *env = arr(c.get_object(), "env"))
                for (const auto &e : *env) {
                    if (!e.is_object()) continue;
                    if (const auto *from = obj(e.get_object(), "valueFrom")) {
                        if (const auto *r = obj(*from, "configMapKeyRef")) add("configmaps", str(*r, "name"));
                        if (const auto *r = obj(*from, "secretKeyRef")) add("secrets", str(*r, "name"));
                    }
                }
            if (const auto *env_from = arr(c.get_object(), "envFrom"))
                for (const auto &e : *env_from) {
                    if (!e.is_object()) continue;
                    if (const auto *r = obj(e.get_object(), "configMapRef")) add("configmaps", str(*r, "name"));
                    if (const auto *r = obj(e.get_object(), "secretRef")) add("secrets", str(*r, "name"));
                }
        }
    }
    return refs;
}

ReferencedObjects::ReferencedObjects(ApiClient &client, asio::any_io_executor executor)
    : client_(client), executor_(std::move(executor)) {}

void ReferencedObjects::update_pod(const std::string &pod_key, const json::object *pod) {
    const auto now = pod ? references_of(*pod) : std::set<ObjectRef>{};
    auto &before = by_pod_[pod_key];
    for (const auto &r : now)
        if (!before.contains(r)) acquire(r);
    for (const auto &r : before)
        if (!now.contains(r)) release(r);
    if (now.empty()) by_pod_.erase(pod_key);
    else before = now;
}

bool ReferencedObjects::synced_for(const json::object &pod) const {
    for (const auto &ref : references_of(pod)) {
        const auto it = watches_.find(ref);
        if (it == watches_.end() || !it->second->synced()) return false;
    }
    return true;
}

void ReferencedObjects::acquire(const ObjectRef &ref) {
    if (counts_[ref]++ > 0) return;
    auto &cache = ref.kind == "secrets" ? secrets_ : config_maps_;
    auto informer = std::make_shared<Informer>(
        client_, "/api/v1/namespaces/" + ref.ns + "/" + ref.kind, "fieldSelector=" + url_encode("metadata.name=" + ref.name),
        cache, ref.kind + "/" + ref.ns + "/" + ref.name);
    watches_[ref] = informer;
    asio::co_spawn(executor_, informer->run(), asio::detached);
    spdlog::debug("watching {}/{}/{}", ref.kind, ref.ns, ref.name);
}

void ReferencedObjects::release(const ObjectRef &ref) {
    auto it = counts_.find(ref);
    if (it == counts_.end() || --it->second > 0) return;
    counts_.erase(it);
    if (auto w = watches_.find(ref); w != watches_.end()) {
        w->second->stop();
        watches_.erase(w);
    }
    (ref.kind == "secrets" ? secrets_ : config_maps_).erase(ref.ns + "/" + ref.name);
    spdlog::debug("stopped watching {}/{}/{}", ref.kind, ref.ns, ref.name);
}

}  // namespace systemk::kube
