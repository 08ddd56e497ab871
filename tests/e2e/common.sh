# Shared settings for the e2e scripts; sourced, not run.
# SYSTEMK_E2E_CACHE holds slow, reusable results (kubernetes build, node rootfs);
# SYSTEMK_E2E_RUN holds one run's state (PKI, etcd data, pids, logs).
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$E2E_DIR/../.." && pwd)
CACHE=${SYSTEMK_E2E_CACHE:-/var/cache/systemk-e2e}
RUN=${SYSTEMK_E2E_RUN:-/run/systemk-e2e}
KUBE_VERSION=1.20.2
KUBE_BIN=$CACHE/kubernetes-$KUBE_VERSION/bin
ROOTFS=$CACHE/rootfs-bookworm
KUBECTL="$KUBE_BIN/kubectl --kubeconfig=$RUN/pki/admin.kubeconfig"
# The mirror the machine already uses, so nothing outside Debian's archive is reached.
debian_mirror() {
  local uri
  uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
  [[ -n "$uri" ]] || uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | grep -m1 debian | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}
log() { echo "e2e: $*" >&2; }

# A pod whose container prints each argument and $HOSTILE base64-encoded, one per line, so that
# a test can compare exactly what the process received. Usage:
#   printer_pod METADATA SPEC_LINE VALUE...   (SPEC_LINE: an extra line under spec:, may be empty)
printer_pod() {
  local metadata=$1 extra=$2; shift 2
  echo 'apiVersion: v1'; echo 'kind: Pod'; echo "metadata: $metadata"; echo 'spec:'
  [[ -n $extra ]] && echo "  $extra"
  echo '  restartPolicy: Never'; echo '  containers:'
  echo '  - name: printer'; echo '    image: /bin/sh'
  echo '    command: ["/bin/sh", "-c", "for a in \"$@\"; do printf \"arg:%s\\n\" \"$(printf %s \"$a\" | base64 -w0)\"; done; printf \"env:%s\\n\" \"$(printf %s \"$HOSTILE\" | base64 -w0)\"", "sh"]'
  echo '    args:'
  local v
  for v in "$@"; do printf '    - %s\n' "$(jq -Rn --arg v "$v" '$v')"; done
  echo '    env:'
  printf '    - {name: HOSTILE, value: %s}\n' "$(jq -Rn --arg v "$1" '$v')"
}
# What printer_pod's process prints for these argument values (HOSTILE = the first value).
printer_expected() {
  local out="" v first=$1
  for v in "$@"; do out+="arg:$(printf %s "$v" | base64 -w0)"$'\n'; done
  printf '%senv:%s' "$out" "$(printf %s "$first" | base64 -w0)"
}

# Probes of the node's systemd that fail when they cannot look (node gone, systemctl error), so
# that a check never passes because its probe broke. They use $NODE and the caller's fail().
# Units matching PATTERN, one per line (empty: none).
units_matching() { "$E2E_DIR/node.sh" exec "$NODE" systemctl list-units --all --no-legend --plain "$1"; }
# True when no unit matches PATTERN.
no_units() {
  local out; out=$(units_matching "$1") || fail "cannot list units $1 in $NODE"
  [[ -z $out ]] || { echo "still there: $out" >&2; return 1; }
}
# True when no unit matching PATTERN runs (active, activating, deactivating, reloading): a
# stopped unit may stay listed as "inactive dead" until systemd garbage-collects it.
none_running() {
  local out; out=$("$E2E_DIR/node.sh" exec "$NODE" systemctl list-units --all --no-legend --plain \
    --state=active,activating,deactivating,reloading "$1") || fail "cannot list units $1 in $NODE"
  [[ -z $out ]] || { echo "still running: $out" >&2; return 1; }
}
# PROPERTY of UNIT; fails (status 1, message on stderr) when the unit is not loaded or systemctl
# fails, so a misspelt unit name never reads as an empty value. Use as v=$(unit_property U P) || fail.
unit_property() {
  local out
  out=$("$E2E_DIR/node.sh" exec "$NODE" systemctl show -p LoadState -p "$2" "$1") || { echo "systemctl show $1 failed" >&2; return 1; }
  grep -qx 'LoadState=loaded' <<<"$out" || { echo "unit $1 is not loaded in $NODE" >&2; return 1; }
  sed -n "s/^$2=//p" <<<"$out"
}
# True when UNIT is not running: inactive, failed, or unknown to systemd.
unit_inactive() {
  local out; out=$("$E2E_DIR/node.sh" exec "$NODE" systemctl show -p ActiveState --value "$1") || fail "cannot read $1 in $NODE"
  [[ $out == inactive || $out == failed ]]
}
# The MainPID of a running UNIT (fails unless it is a number above 0).
main_pid() {
  local pid; pid=$(unit_property "$1" MainPID) || return 1
  [[ $pid =~ ^[1-9][0-9]*$ ]] || { echo "$1 has no main process (MainPID '$pid')" >&2; return 1; }
  echo "$pid"
}
# Lines printed by a command (kubectl get --no-headers ...); status 1 and "error" when it fails,
# so that a count compared with a number never matches because the command broke.
count() {
  local out; out=$("$@" 2>/dev/null) || { echo error; echo "probe failed: $*" >&2; return 1; }
  grep -c . <<<"$out" || true
}
