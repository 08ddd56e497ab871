#pragma once
#include <map>
#include <optional>
#include <string>

#include "kube/token_request_spec.h"

namespace systemk::pods {

// Where configMap and secret content comes from: the agent's object cache, or nothing at all
// for `systemk render`. Values are the decoded bytes.
class ObjectLookup {
public:
    using Data = std::map<std::string, std::string>;
    virtual ~ObjectLookup() = default;
    // False when there is no cluster to ask (references then can only be skipped or refused).
    virtual bool online() const = 0;
    // nullopt when the object does not exist.
    virtual std::optional<Data> config_map(const std::string &ns, const std::string &name) const = 0;
    virtual std::optional<Data> secret(const std::string &ns, const std::string &name) const = 0;
    // A service-account token bound to the pod (TokenRequest), nullopt where there is no cluster
    // to ask. Throws std::runtime_error when the API server refuses or cannot be reached.
    virtual std::optional<std::string> service_account_token(const kube::TokenRequestSpec &) const { return std::nullopt; }
};

class OfflineLookup final : public ObjectLookup {
public:
    bool online() const override { return false; }
    std::optional<Data> config_map(const std::string &, const std::string &) const override { return std::nullopt; }
    std::optional<Data> secret(const std::string &, const std::string &) const override { return std::nullopt; }
};

}  // namespace systemk::pods
