#pragma once
// ObjectLookup backed by the agent's watch caches of referenced configMaps and secrets.
#include "kube/object_cache.h"
#include "kube/token_manager.h"
#include "pods/object_lookup.h"

namespace systemk::pods {

class CacheLookup final : public ObjectLookup {
public:
    CacheLookup(const kube::ObjectCache &config_maps, const kube::ObjectCache &secrets,
                kube::TokenManager *tokens = nullptr)
        : config_maps_(config_maps), secrets_(secrets), tokens_(tokens) {}
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &ns, const std::string &name) const override;
    std::optional<Data> secret(const std::string &ns, const std::string &name) const override;
    std::optional<std::string> service_account_token(const kube::TokenRequestSpec &spec) const override;

private:
    const kube::ObjectCache &config_maps_;
    const kube::ObjectCache &secrets_;
    kube::TokenManager *tokens_;
};

}  // namespace systemk::pods
