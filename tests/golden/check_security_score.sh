#!/usr/bin/env bash
# `systemd-analyze security --offline=yes` over rendered units (issue 8's acceptance): a pod
# without securityContext scores <= 4.0, a restricted pod (runAsNonRoot, runAsUser, drop ALL)
# <= 2.5, and a privileged pod is reported as such (UNSAFE, and Privileged=yes in its unit).
set -euo pipefail
systemk=$1 src=$2
fixtures=$src/tests/fixtures/security
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
status=0
score() {  # pod.yaml -> exposure level (a number) of its only unit
  rm -rf "$out/units"; mkdir "$out/units"
  "$systemk" render -f "$1" -o "$out/units" >/dev/null
  local line
  line=$(systemd-analyze security --offline=yes "$out"/units/*.service 2>&1 | grep 'Overall exposure level') || {
    echo "systemd-analyze security gave no verdict for $1" >&2; return 1; }
  echo "$line" >&2
  sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line"
}
at_most() {  # value limit
  awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'
}
s=$(score "$fixtures/default.yaml") || exit 1
at_most "$s" 4.0 || { echo "FAIL: default pod scores $s > 4.0" >&2; status=1; }
s=$(score "$fixtures/restricted.yaml") || exit 1
at_most "$s" 2.5 || { echo "FAIL: restricted pod scores $s > 2.5" >&2; status=1; }
s=$(score "$fixtures/privileged.yaml") || exit 1
at_most "$s" 9.0 && { echo "FAIL: privileged pod scores only $s" >&2; status=1; }
grep -qx 'Privileged="yes"' "$out"/units/*.service || { echo "FAIL: privileged unit does not say so" >&2; status=1; }
for f in default restricted; do
  rm -rf "$out/units"; mkdir "$out/units"
  "$systemk" render -f "$fixtures/$f.yaml" -o "$out/units" >/dev/null
  grep -qx 'Privileged="no"' "$out"/units/*.service || { echo "FAIL: $f unit does not say Privileged=no" >&2; status=1; }
done
exit $status
