#!/usr/bin/env bash
# Pods systemk cannot run get an error naming the field, and the other pods still render.
set -euo pipefail
systemk=$1 src=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_error() {  # manifest, expected text
  local out
  if out=$(printf '%s' "$1" | "$systemk" render -f - 2>&1); then fail "rendered although it should not: $1"; fi
  grep -qF -- "$2" <<<"$out" || fail "expected '$2' in: $out"
}
expect_error $'kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: /no/such/binary}\n' \
  "spec.containers[0].image: image /no/such/binary: No such file or directory (ErrImagePull)"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: not-installed-package-xyz}\n' \
  "spec.containers[0].image: package not-installed-package-xyz is not known to apt on this node"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: v, nfs: {server: x, path: /}}]\n  containers:\n  - {name: c, image: /bin/sh, command: [/bin/sh]}\n' \
  "spec.volumes[0].nfs: volume type 'nfs' is not supported by any plugin"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: /bin/sh, env: [{name: X, value: "a\\u0000b"}]}\n' \
  "spec.containers[0].env[0]: value contains a NUL byte"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: /bin/sh, command: 5}]}\n' \
  "spec.containers[0].command: must be a list"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: /bin/sh' "invalid YAML"
# Names and UIDs that become host paths are validated; subPaths stay relative.
expect_error $'kind: Pod\nmetadata: {name: p, uid: ../../etc}\nspec:\n  volumes: [{name: v, emptyDir: {}}]\n  containers:\n  - {name: c, image: /bin/sh, command: [/bin/sh]}\n' \
  "metadata.uid: may contain only letters, digits and '-'"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: ../x, emptyDir: {}}]\n  containers:\n  - {name: c, image: /bin/sh, command: [/bin/sh]}\n' \
  "spec.volumes[0].name: '../x' is not a DNS label"
expect_error $'kind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: v, emptyDir: {}}]\n  containers:\n  - {name: c, image: /bin/sh, command: [/bin/sh], volumeMounts: [{name: v, mountPath: /x, subPath: ../../etc}]}\n' \
  "spec.containers[0].volumeMounts[0].subPath: must not contain '..'"
# One bad pod does not stop the others in the same file.
out=$(printf 'kind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, image: /nope}]}\n---\nkind: Pod\nmetadata: {name: good}\nspec: {containers: [{name: c, image: /bin/true}]}\n' \
  | "$systemk" render -f - 2>/dev/null) && fail "exit status should report the bad pod"
grep -q '^# systemk.default.good.c.service' <<<"$out" || fail "the good pod was not rendered"
echo "bad pods reported"
