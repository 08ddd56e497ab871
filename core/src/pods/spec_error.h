#pragma once
#include <stdexcept>
#include <string>

namespace systemk::pods {

// A pod spec systemk cannot run. `field` is the JSON path of the offending field
// ("spec.containers[0].command") and `reason` the Kubernetes waiting reason to report.
class SpecError : public std::runtime_error {
public:
    SpecError(std::string field, const std::string &message, std::string reason = "CreateContainerConfigError")
        : std::runtime_error(field + ": " + message), field_(std::move(field)), reason_(std::move(reason)) {}
    const std::string &field() const { return field_; }
    const std::string &reason() const { return reason_; }

private:
    std::string field_;
    std::string reason_;
};

}  // namespace systemk::pods
