#pragma once
// Objects of one kind as last seen from the API server, keyed "namespace/name". Used from the
// agent's io_context thread; readers on other threads take copies under the mutex.
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace systemk::kube {

std::string object_key(const boost::json::object &obj);  // "ns/name" or "name"

class ObjectCache {
public:
    // Called after every change with the key and the new object (nullopt when deleted).
    using Listener = std::function<void(const std::string &key, const boost::json::object *obj)>;

    void set_listener(Listener l) { listener_ = std::move(l); }
    // After a list by one of possibly several informers writing here: makes the keys in `scope`
    // (what that informer put here before) exactly `objects`, leaving every other key alone, so a
    // relist never erases another informer's objects. Emits changes only for what differs.
    // Returns the keys of `objects`: the informer's scope from now on.
    std::set<std::string> replace(const std::set<std::string> &scope, const std::vector<boost::json::object> &objects);
    void upsert(const boost::json::object &obj);
    void erase(const std::string &key);
    std::optional<boost::json::object> get(const std::string &key) const;
    std::vector<boost::json::object> list() const;
    size_t size() const;

private:
    void notify(const std::string &key, const boost::json::object *obj);
    mutable std::mutex mutex_;
    std::map<std::string, boost::json::object> objects_;
    Listener listener_;
};

}  // namespace systemk::kube
