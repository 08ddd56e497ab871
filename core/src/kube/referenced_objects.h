#pragma once
// Watches exactly the configMaps and secrets that this node's pods reference, one watch per
// object (what the Node authorizer allows), shared by every pod that references it: a watch
// stops only when the last pod referencing the object is gone.
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "kube/api_client.h"
#include "kube/informer.h"
#include "kube/object_cache.h"

namespace systemk::kube {

struct ObjectRef {
    std::string kind;  // "configmaps" | "secrets"
    std::string ns;
    std::string name;
    auto operator<=>(const ObjectRef &) const = default;
};

// Every configMap and secret a pod refers to (volumes, projected volumes, env, envFrom).
std::set<ObjectRef> references_of(const boost::json::object &pod);

class ReferencedObjects {
public:
    ReferencedObjects(ApiClient &client, asio::any_io_executor executor);
    // Called for every pod change (`pod` null when the pod is gone).
    void update_pod(const std::string &pod_key, const boost::json::object *pod);
    ObjectCache &config_maps() { return config_maps_; }
    ObjectCache &secrets() { return secrets_; }
    size_t watch_count() const { return watches_.size(); }
    // Whether every object the pod references has been listed at least once (absent or not).
    bool synced_for(const boost::json::object &pod) const;

private:
    void acquire(const ObjectRef &ref);
    void release(const ObjectRef &ref);

    ApiClient &client_;
    asio::any_io_executor executor_;
    ObjectCache config_maps_, secrets_;
    std::map<std::string, std::set<ObjectRef>> by_pod_;
    std::map<ObjectRef, int> counts_;
    std::map<ObjectRef, std::shared_ptr<Informer>> watches_;
};

}  // namespace systemk::kube
