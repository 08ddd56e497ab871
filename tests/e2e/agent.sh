#!/usr/bin/env bash
# End-to-end cases for the node agent (systemk run) in a systemd node, with node credentials only.
#   agent.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
build=${2:-$SRC_DIR/build}
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
fail() { echo "FAIL: $*" >&2; node journalctl -u systemk -o cat --no-pager -n 30 >&2 || true; exit 1; }
jp() { $KUBECTL get "$1" -o "jsonpath=$2"; }
ready_status() { jp "node/$NODE" '{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true; }
now_ms() { date +%s%3N; }

wait_until() {  # seconds description command...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.2; done
}
is_ready() { [[ $(ready_status) == True ]]; }
not_ready() { local s; s=$(ready_status); [[ $s == Unknown || $s == False ]]; }

case_node_registers_ready() {
  node systemctl stop systemk
  $KUBECTL delete node "$NODE" --ignore-not-found >/dev/null
  local start; start=$(now_ms)
  node systemctl start systemk
  wait_until 30 "node Ready" is_ready
  echo "measured: node Ready $(( $(now_ms) - start )) ms after systemctl start"
  [[ $(jp "node/$NODE" '{.status.addresses[?(@.type=="InternalIP")].address}') == 127.0.0.1 ]] || fail "InternalIP"
  [[ -n $(jp "node/$NODE" '{.status.addresses[?(@.type=="ExternalIP")].address}') ]] || fail "ExternalIP missing"
  [[ $(jp "node/$NODE" '{.status.nodeInfo.osImage}') == "Debian GNU/Linux 12 (bookworm)" ]] || fail "osImage"
  [[ $(jp "node/$NODE" '{.status.nodeInfo.kernelVersion}') == "$(uname -r)" ]] || fail "kernelVersion"
  [[ $(jp "node/$NODE" '{.status.nodeInfo.containerRuntimeVersion}') == "systemd 252"* ]] || fail "runtime version"
  local machine_id; machine_id=$(node cat /etc/machine-id) || fail "cannot read the node's machine-id"
  [[ -n $machine_id && $(jp "node/$NODE" '{.status.nodeInfo.machineID}') == "$machine_id" ]] || fail "machineID"
  [[ $(jp "node/$NODE" '{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}') == \
     "virtual-kubelet.io/provider=systemk:NoSchedule" ]] || fail "taint"
  [[ $(jp "node/$NODE" '{.metadata.labels.node\.kubernetes\.io/instance-type}') == systemk ]] || fail "labels"
  # node1 serves on the instance's kubelet port (node.sh: base port + node index - 1).
  [[ $(jp "node/$NODE" '{.status.daemonEndpoints.kubeletEndpoint.Port}') == "${SYSTEMK_E2E_KUBELET_PORT:-10250}" ]] || fail "kubelet port"
  [[ -n $(jp "node/$NODE" '{.status.capacity.cpu}') && -n $(jp "node/$NODE" '{.status.capacity.memory}') ]] || fail "capacity"
  $KUBECTL get nodes -o wide
}

lease_time() { $KUBECTL -n kube-node-lease get lease "$NODE" -o 'jsonpath={.spec.renewTime}' 2>/dev/null || true; }
has_lease() { [[ -n $(lease_time) ]]; }
# The lease's renewTime differs from $1 (an unreadable lease has not moved).
lease_moved_from() { local t; t=$(lease_time); [[ -n $t && $t != "$1" ]]; }

case_lease_renews() {
  wait_until 30 "a lease" has_lease
  [[ $($KUBECTL -n kube-node-lease get lease "$NODE" -o 'jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}') == "Node/$NODE" ]] \
    || fail "lease has no owner reference to the node"
  local first; first=$(lease_time)
  wait_until 15 "lease renewal" lease_moved_from "$first"
  local second; second=$(lease_time)
  wait_until 15 "second lease renewal" lease_moved_from "$second"
  local third; third=$(lease_time)
  local a b; a=$(date -d "$second" +%s%3N) || fail "renewTime '$second'"; b=$(date -d "$third" +%s%3N) || fail "renewTime '$third'"
  echo "measured: lease renewTime $second -> $third ($((b - a)) ms apart)"
  ((b > a)) || fail "renewTime went backwards: $second -> $third"
}

case_stop_marks_unknown_restart_recovers() {
  is_ready || wait_until 30 "node Ready" is_ready
  local uid; uid=$(jp "node/$NODE" '{.metadata.uid}')
  # A pod-like unit must survive the agent stopping.
  node systemd-run --unit=systemk.default.survivor.c --property=Type=exec /bin/sleep 600 >/dev/null
  local survivor; survivor=$(main_pid systemk.default.survivor.c.service) || fail "the pod-like unit did not start"
  local start; start=$(now_ms)
  node systemctl stop systemk
  echo "measured: agent stopped in $(( $(now_ms) - start )) ms"
  [[ $(main_pid systemk.default.survivor.c.service) == "$survivor" ]] || fail "a unit died with the agent"
  wait_until 120 "the controller to mark the node NotReady/Unknown" not_ready
  echo "node is $(ready_status) while the agent is stopped"
  node systemctl start systemk
  wait_until 30 "node Ready again" is_ready
  [[ $(jp "node/$NODE" '{.metadata.uid}') == "$uid" ]] || fail "node object was replaced"
  [[ $($KUBECTL get nodes -o name | grep -c "^node/$NODE$") == 1 ]] || fail "duplicate node"
  node systemctl stop systemk.default.survivor.c.service
}

agent_pid() { main_pid systemk || fail "the agent is not running"; }
cpu_ticks() {
  local stat; stat=$(node cat "/proc/$1/stat") || fail "no process $1 in $NODE"
  awk '{print $14 + $15}' <<<"$stat"
}

case_apiserver_restart() {
  is_ready || wait_until 30 "node Ready" is_ready
  local pid; pid=$(agent_pid)
  local before; before=$(cpu_ticks "$pid")
  "$E2E_DIR/cluster.sh" restart-apiserver 10 >/dev/null
  local after; after=$(cpu_ticks "$pid")
  [[ $(agent_pid) == "$pid" ]] || fail "the agent restarted (crashed?) while the API server was down"
  echo "measured: agent used $((after - before)) CPU ticks (1/100 s) during a ~12 s API server outage"
  local lease; lease=$(lease_time)
  [[ -n $lease ]] || fail "cannot read the lease after the restart"
  wait_until 30 "lease renewal after the restart" lease_moved_from "$lease"
  wait_until 30 "node Ready" is_ready
  sleep 1
  node journalctl -u systemk -o cat --no-pager --since "-60s" | grep -E 'reconnected|work again' | head -3 || true
}

# Prints the agent's footprint (figures for the record; budgets are checked by bench/, not
# here) and checks what must hold: a Ready node whose agent stays up, idle, without restarts.
# The node lifecycle controller marks a node Unknown when its lease is late (an API server
# outage longer than the grace period): the agent notices on its next status sync and writes
# Ready=True again, as the kubelet does.
case_ready_restored_after_unknown() {
  is_ready || wait_until 30 "node Ready" is_ready
  local pki=$RUN/pki
  local out
  out=$(curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" -X PATCH \
    -H 'Content-Type: application/strategic-merge-patch+json' \
    -d '{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"set by e2e"}]}}' \
    "https://127.0.0.1:${SYSTEMK_E2E_API_PORT:-6443}/api/v1/nodes/$NODE/status") || fail "cannot mark the node Unknown"
  [[ $(jq -r '.status.conditions[] | select(.type == "Ready") | .status' <<<"$out") == Unknown ]] \
    || fail "the patch did not make the node Unknown"
  wait_until 30 "the agent to write Ready=True again" is_ready
  echo "the agent restored Ready=True after the node was marked Unknown"
}

case_resource_usage() {
  is_ready || wait_until 30 "node Ready" is_ready
  local pid; pid=$(agent_pid)
  local rss; rss=$(node awk '/VmRSS/ {print $2}' "/proc/$pid/status") || fail "cannot read the agent's RSS"
  [[ $rss =~ ^[1-9][0-9]*$ ]] || fail "agent RSS '$rss' is not a number of KiB"
  local t1; t1=$(cpu_ticks "$pid"); sleep 10; local t2; t2=$(cpu_ticks "$pid")
  echo "measured: agent RSS ${rss} KiB; idle CPU $((t2 - t1)) ticks in 10 s ($(( (t2 - t1) * 10 / 10 )) ms/s)"
  [[ $(agent_pid) == "$pid" ]] || fail "the agent restarted while idle"
  is_ready || fail "node not Ready while idle"
}

# Each bad configuration runs a second agent inside the node (never against this machine's
# own systemd, where an agent would manage any systemk.* unit), from a scratch directory there.
case_bad_configuration() {
  local dir=/root/e2e-bad-config
  local work=$RUN/nodes/$NODE/rootfs$dir
  rm -rf "$work"; mkdir -p "$work"
  local out rc
  # Runs `systemk run ARGS...` in the node with a time limit; sets out and rc. Its kubelet API
  # gets a port of this instance that no node uses (the node's own agent holds the node's).
  local spare_port=$((${SYSTEMK_E2E_KUBELET_PORT:-10250} + 9))
  agent_run() {
    local limit=$1; shift
    set +e; out=$(node timeout "$limit" /opt/systemk/bin/systemk run --nodename "$NODE" --node-ip 127.0.0.1 \
                    --addr ":$spare_port" "$@" 2>&1); rc=$?; set -e
  }
  # Bad rate limits: a usage error before anything starts.
  agent_run 20 --kubeconfig /etc/systemk/kubeconfig --kube-api-qps 0
  [[ $rc == 2 && $out == *"--kube-api-qps wants a positive number, not '0'"* ]] || fail "--kube-api-qps 0: rc=$rc $out"
  agent_run 20 --kubeconfig /etc/systemk/kubeconfig --kube-api-burst lots
  [[ $rc == 2 && $out == *"--kube-api-burst wants a positive number"* ]] || fail "--kube-api-burst lots: rc=$rc $out"
  # Missing and malformed kubeconfig: one clear line, exit 1.
  agent_run 20 --kubeconfig "$dir/missing"
  [[ $rc == 1 && $(wc -l <<<"$out") == 1 && $out == *"bad kubeconfig: cannot read kubeconfig"* ]] || fail "missing kubeconfig: rc=$rc $out"
  echo ':: not yaml' > "$work/garbage"
  agent_run 20 --kubeconfig "$dir/garbage"
  [[ $rc == 1 && $out == *"bad kubeconfig"* ]] || fail "garbage kubeconfig: rc=$rc $out"
  # Wrong CA: the server's certificate is rejected; retrying can't help, so exit 1.
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/other.key" -subj /CN=other -days 1 -out "$work/other.crt" 2>/dev/null
  sed "s#certificate-authority: .*#certificate-authority: $dir/other.crt#" "$RUN/nodes/$NODE/rootfs/etc/systemk/kubeconfig" > "$work/wrong-ca"
  grep -q "certificate-authority: $dir/other.crt" "$work/wrong-ca" || fail "could not write the wrong-CA kubeconfig"
  agent_run 20 --kubeconfig "$dir/wrong-ca"
  [[ $rc == 1 && $out == *"certificate verify failed"* ]] || fail "wrong CA: rc=$rc $out"
  grep -c 'error' <<<"$out" | grep -qx 1 || fail "wrong CA should say so in one error line: $out"
  # Unreachable server: keeps retrying quietly, never crashes.
  sed "s#server: .*#server: https://127.0.0.1:1#" "$RUN/nodes/$NODE/rootfs/etc/systemk/kubeconfig" > "$work/unreachable"
  agent_run 8 --kubeconfig "$dir/unreachable"
  [[ $rc == 124 ]] || fail "unreachable server: expected to keep retrying, rc=$rc $out"
  [[ $out == *"Connection refused"* ]] || fail "unreachable server: no clear error: $out"
  (( $(grep -c -i 'warn' <<<"$out") <= 3 )) || fail "unreachable server: too chatty: $out"
  rm -rf "$work"
  echo "bad kubeconfig, wrong CA and unreachable server each give a clear error"
}

case_second_node() {
  # Several nodes share the host network, each with its own kubelet API port.
  "$E2E_DIR/node.sh" up node2 "$build" >/dev/null
  local deadline=$((SECONDS + 30))
  until [[ $($KUBECTL get node node2 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; do
    ((SECONDS < deadline)) || { "$E2E_DIR/node.sh" down node2; fail "node2 not Ready"; }
    sleep 0.3
  done
  local p1 p2
  p1=$($KUBECTL get node "$NODE" -o 'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}')
  p2=$($KUBECTL get node node2 -o 'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}')
  [[ -n $p1 && -n $p2 ]] || fail "cannot read the nodes' kubelet ports ('$p1', '$p2')"
  [[ $p1 != "$p2" ]] || fail "both nodes advertise port $p1"
  $KUBECTL get nodes
  "$E2E_DIR/node.sh" down node2 >/dev/null
  $KUBECTL delete node node2 >/dev/null
}

# A failed case must not break the next ones: bring back what the cases stop or start.
restore_after_failure() {
  echo "restoring the API server, node2 and the agent after the failure" >&2
  "$E2E_DIR/cluster.sh" start-apiserver >/dev/null 2>&1 || true
  "$E2E_DIR/node.sh" down node2 >/dev/null 2>&1 || true
  node systemctl stop systemk.default.survivor.c.service >/dev/null 2>&1 || true
  node systemctl start systemk >/dev/null 2>&1 || true
  rm -rf "$RUN/nodes/$NODE/rootfs/root/e2e-bad-config"
}

case "${1:-}" in
  second_node|node_registers_ready|lease_renews|stop_marks_unknown_restart_recovers|apiserver_restart|resource_usage|bad_configuration|ready_restored_after_unknown)
    trap 'rc=$?; ((rc == 0)) || restore_after_failure' EXIT
    "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
