#include "pods/pod_layout.h"

#include "pods/spec_error.h"

namespace systemk::pods {

void validate_pod_uid(const std::string &uid) {
    if (uid.empty() || uid.size() > 64) throw SpecError("metadata.uid", "must be 1 to 64 characters");
    for (char c : uid)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            throw SpecError("metadata.uid", "may contain only letters, digits and '-'");
}

void validate_path_label(const std::string &name, const std::string &field) {
    if (name.empty() || name.size() > 63) throw SpecError(field, "must be 1 to 63 characters");
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            throw SpecError(field, "'" + name.substr(0, 63) + "' is not a DNS label (a-z, 0-9, '-')");
    if (name.front() == '-' || name.back() == '-') throw SpecError(field, "must start and end with a letter or digit");
}

std::string pod_dir(const NodeContext &node, const std::string &uid) {
    validate_pod_uid(uid);
    return node.state_dir + "/pods/" + uid;
}

std::string pod_runtime_dir(const NodeContext &node, const std::string &uid) {
    validate_pod_uid(uid);
    return node.runtime_dir + "/pods/" + uid;
}

std::string volume_dir(const NodeContext &node, const std::string &uid, const std::string &volume, bool sensitive) {
    validate_path_label(volume, "spec.volumes.name");
    return (sensitive ? pod_runtime_dir(node, uid) : pod_dir(node, uid)) + "/volumes/" + volume;
}

std::string env_file_path(const NodeContext &node, const std::string &uid, const std::string &container) {
    validate_path_label(container, "name");
    return pod_runtime_dir(node, uid) + "/env/" + container + ".env";
}

std::string subpath_pin_path(const NodeContext &node, const std::string &uid, const std::string &volume,
                             const std::string &container, size_t mount_index) {
    validate_path_label(volume, "volumeMounts.name");
    validate_path_label(container, "name");
    return pod_runtime_dir(node, uid) + "/volume-subpaths/" + volume + "/" + container + "/" + std::to_string(mount_index);
}

}  // namespace systemk::pods
