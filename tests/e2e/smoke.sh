#!/usr/bin/env bash
# End-to-end cases against the real control plane and a real systemd node.
#   smoke.sh setup BUILD_DIR | teardown | CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
build=${2:-$SRC_DIR/build}

case_readyz() {
  [[ $($KUBECTL get --raw /readyz) == ok ]] || fail "/readyz is not ok"
  $KUBECTL version --short 2>/dev/null | grep -q 'Server Version: v1.20.2' || fail "unexpected server version"
  echo "readyz ok, server v1.20.2"
}

case_transient_unit() {
  local token="hello-from-$NODE-$RANDOM"
  node systemd-run --unit="smoke-$token" --wait -q /bin/echo "$token"
  node journalctl -u "smoke-$token" -o cat --no-pager | grep -qx "$token" || fail "journald did not return the output"
  echo "transient unit ran in $NODE and journald returned its output"
}

case_node_credentials() {
  local kc; kc=$("$E2E_DIR/cluster.sh" node-kubeconfig "$NODE")
  local k="$KUBE_BIN/kubectl --kubeconfig=$kc" out
  $k get node "$NODE" -o name | grep -qx "node/$NODE" || fail "node cannot read its own Node"
  if out=$($k get secrets -A 2>&1); then fail "node credentials can list secrets cluster-wide"; fi
  grep -q Forbidden <<<"$out" || fail "expected Forbidden listing secrets, got: $out"
  # NodeRestriction: a node may create only its own Node object.
  if out=$(printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"not-%s"}}' "$NODE" | $k create -f - 2>&1); then
    fail "node credentials created another node"
  fi
  grep -q Forbidden <<<"$out" || fail "expected Forbidden creating another node, got: $out"
  echo "node credentials: own Node readable; secrets and other nodes forbidden"
}

case_systemk_runs_in_node() {
  # The node image carries systemk's runtime libraries: the build runs inside, as a unit.
  node systemd-run --unit=systemk-selftest --wait -q /opt/systemk/bin/systemk plugins
  local out; out=$(node journalctl -u systemk-selftest -o cat --no-pager)
  for p in pkg-apt pkg-pacman pkg-path pkg-url pkg-rpm volumes; do grep -q "^$p	" <<<"$out" || fail "plugin $p missing in node: $out"; done
  echo "systemk runs inside the node and loads its plugins"
}

case_rendered_units_run_exactly() {
  # Values with newlines, %, $, quotes and backslashes reach the process unchanged through
  # real systemd, and add no directive to the unit.
  local unitdir="$RUN/nodes/$NODE/rootfs/etc/systemd/system"
  local -a values=($'x\n[Service]\nExecStartPre=/bin/false' '100% of $HOME' 'q"uo'"'"'te and back\slash \\n' '$(NOT_A_VAR) $$ %n %%' ';')
  # What the process must see: Kubernetes expands "$$" to "$" and leaves unknown $(VAR) alone.
  local -a seen=("${values[@]}")
  seen[3]='$(NOT_A_VAR) $ %n %%'
  local pod; pod=$(mktemp)
  printer_pod '{name: exact-values, namespace: default, uid: e2e-exact}' '' "${values[@]}" > "$pod"
  "$build/bin/systemk" render -f "$pod" --node-ip 127.0.0.1 -o "$unitdir"
  rm -f "$pod"
  local unit=systemk.default.exact-values.printer.service
  node systemctl daemon-reload
  local cursor; cursor=$(node journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
  node systemctl start "$unit"
  for _ in $(seq 1 40); do
    [[ $(unit_property "$unit" SubState) == exited ]] && break; sleep 0.25
  done
  local result; result=$(unit_property "$unit" Result) || fail "cannot read $unit"
  [[ $result == success ]] || fail "unit did not succeed: $result"
  local pre; pre=$(unit_property "$unit" ExecStartPre) || fail "cannot read $unit"
  [[ -z $pre ]] || fail "a value added ExecStartPre: $pre"
  local out; out=$(node journalctl -u "$unit" --after-cursor="$cursor" -o cat --no-pager)
  local expected; expected=$(printer_expected "${seen[@]}")
  local got; got=$(grep -E '^(arg|env):' <<<"$out")
  [[ $got == "$expected" ]] || fail "values changed on the way:"$'\n'"expected:"$'\n'"$expected"$'\n'"got:"$'\n'"$got"
  node systemctl reset-failed "$unit" 2>/dev/null || true
  rm -f "$unitdir/$unit"
  echo "hostile values reached the process byte for byte"
}

case "${1:-}" in
  setup) "$E2E_DIR/cluster.sh" up && "$E2E_DIR/node.sh" up "$NODE" "$build" ;;
  teardown) "$E2E_DIR/cluster.sh" down ;;
  readyz|transient_unit|node_credentials|systemk_runs_in_node|rendered_units_run_exactly) "case_$1" ;;
  *) echo "usage: $0 setup|teardown|CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
