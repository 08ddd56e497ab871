#pragma once
// The one place that knows where a pod's files live on the host. Every path is built from
// validated parts (pod UID, volume and container names), so nothing from a pod spec can walk
// out of the pod's directory.
//
//   <state_dir>/pods/<uid>/                 0700 root: persistent data (emptyDir on disk)
//   <state_dir>/pods/<uid>/volumes/<name>   non-secret volumes
//   <state_dir>/pods/<uid>/volumes.json     what the volume plugins prepared (no content), so
//                                           that they clean up even after an agent restart
//   <runtime_dir>/pods/<uid>/               0700 root, on tmpfs: never on persistent disk
//   <runtime_dir>/pods/<uid>/volumes/<name> secret, projected (may hold tokens) and
//                                           emptyDir medium: Memory volumes
//   <runtime_dir>/pods/<uid>/env/<container>.env   secret-derived environment, 0600 root
//   <runtime_dir>/pods/<uid>/volume-subpaths/<volume>/<container>/<mount index>
//                                           subPath bind mounts pinned by the agent
// The parents are 0700 root, so no other local user reaches a pod's files; units bind-mount
// what their container needs and make both pods/ directories inaccessible. See docs/volumes.md.
#include <string>
#include <vector>

#include "pods/node_context.h"

namespace systemk::pods {

// Throws SpecError unless `uid` is a Kubernetes UID-like token ([A-Za-z0-9-], ≤ 64).
void validate_pod_uid(const std::string &uid);
// Throws SpecError unless `name` is a DNS-1123 label (volume and container names).
void validate_path_label(const std::string &name, const std::string &field);

std::string pod_dir(const NodeContext &node, const std::string &uid);
std::string pod_runtime_dir(const NodeContext &node, const std::string &uid);
// `sensitive`: the volume may hold secrets or tokens, so it lives under the runtime dir.
std::string volume_dir(const NodeContext &node, const std::string &uid, const std::string &volume, bool sensitive);
std::string env_file_path(const NodeContext &node, const std::string &uid, const std::string &container);
std::string subpath_pin_path(const NodeContext &node, const std::string &uid, const std::string &volume,
                             const std::string &container, size_t mount_index);
// The volume manager's record of the pod's volumes (cleanup requests, never content).
std::string volume_record_path(const NodeContext &node, const std::string &uid);
// The UIDs that have a pod directory (persistent or runtime) on this host.
std::vector<std::string> pod_uids_on_disk(const NodeContext &node);
// Every pinned subPath of the pod lives below this directory.
std::string subpaths_dir(const NodeContext &node, const std::string &uid);

// The token pod paths are named by: the UID, or for a pod without one (only `systemk render`
// sees such pods) its name with every character a UID may not hold replaced by '-'.
std::string pod_path_id(const std::string &uid, const std::string &name);

// Creates the pod's persistent and runtime directories and their `volumes` subdirectories,
// 0700 root (the mode is reset when they exist). Throws std::runtime_error on failure.
void make_pod_dirs(const NodeContext &node, const std::string &uid);

// True when `path` is on a memory file system (tmpfs or ramfs): what secrets require.
bool is_on_memory_fs(const std::string &path);

}  // namespace systemk::pods
