#pragma once
// ObjectLookup backed by the agent's watch caches of referenced configMaps and secrets.
#include "kube/object_cache.h"
#include "pods/object_lookup.h"

namespace systemk::pods {

class CacheLookup final : public ObjectLookup {
public:
    CacheLookup(const kube::ObjectCache &config_maps, const kube::ObjectCache &secrets)
        : config_maps_(config_maps), secrets_(secrets) {}
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &ns, const std::string &name) const override;
    std::optional<Data> secret(const std::string &ns, const std::string &name) const override;

private:
    const kube::ObjectCache &config_maps_;
    const kube::ObjectCache &secrets_;
};

}  // namespace systemk::pods
