#include "kube/object_cache.h"

namespace systemk::kube {

std::string object_key(const boost::json::object &obj) {
    const auto *meta = obj.if_contains("metadata");
    if (!meta || !meta->is_object()) return {};
    const auto &m = meta->get_object();
    std::string key;
    if (const auto *ns = m.if_contains("namespace"); ns && ns->is_string() && !ns->get_string().empty())
        key = std::string(ns->get_string()) + "/";
    if (const auto *name = m.if_contains("name"); name && name->is_string()) key += name->get_string();
    return key;
}

void ObjectCache::notify(const std::string &key, const boost::json::object *obj) {
    if (listener_) listener_(key, obj);
}

std::set<std::string> ObjectCache::replace(const std::set<std::string> &scope,
                                           const std::vector<boost::json::object> &objects) {
    std::set<std::string> seen;
    for (const auto &o : objects) {
        seen.insert(object_key(o));
        upsert(o);
    }
    for (const auto &k : scope)
        if (!seen.contains(k)) erase(k);
    return seen;
}

void ObjectCache::upsert(const boost::json::object &obj) {
    const auto key = object_key(obj);
    {
        std::lock_guard lock(mutex_);
        auto it = objects_.find(key);
        if (it != objects_.end() && it->second == obj) return;
        objects_[key] = obj;
    }
    notify(key, &obj);
}

void ObjectCache::erase(const std::string &key) {
    {
        std::lock_guard lock(mutex_);
        if (objects_.erase(key) == 0) return;
    }
    notify(key, nullptr);
}

std::optional<boost::json::object> ObjectCache::get(const std::string &key) const {
    std::lock_guard lock(mutex_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return std::nullopt;
    return it->second;
}

std::vector<boost::json::object> ObjectCache::list() const {
    std::lock_guard lock(mutex_);
    std::vector<boost::json::object> out;
    for (const auto &[k, v] : objects_) out.push_back(v);
    return out;
}

size_t ObjectCache::size() const {
    std::lock_guard lock(mutex_);
    return objects_.size();
}

}  // namespace systemk::kube
