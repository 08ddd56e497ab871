#pragma once
// What the agent puts on the host for one container right before its unit starts: the
// secret-derived environment file and the pinned subPath bind mounts. Both throw SpecError with
// a message that never contains a value.
#include <string>
#include <utility>
#include <vector>

#include "pods/node_context.h"
#include "units/synthesis.h"

namespace systemk::pods {

// Writes `vars` as a systemd EnvironmentFile (0600 root, parents 0700) atomically; an empty
// list still writes an empty file so that the unit's EnvironmentFile= always exists.
void write_env_file(const std::string &path, const std::vector<std::pair<std::string, std::string>> &vars);

// Resolves every subPath of the container beneath its volume (no symlink may leave it) and
// bind-mounts it on its pinned path. Idempotent: a pin that exists is replaced.
void pin_subpaths(const std::vector<units::SubPathMount> &mounts);

// Unmounts every pinned subPath of the pod and removes its runtime directory; then its
// persistent directory. Idempotent; errors are logged, not thrown.
void remove_pod_files(const NodeContext &node, const std::string &uid);

}  // namespace systemk::pods
