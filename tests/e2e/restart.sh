#!/usr/bin/env bash
# End-to-end cases for agent restarts and relists: pods keep running, with their data, whatever
# the agent or the API server does meanwhile.
#   restart.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
PREFIX=${SYSTEMK_E2E_NS:-e2e-restart}
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
NAMESPACES=()
fail() {
  echo "FAIL: $*" >&2
  local ns
  for ns in "${NAMESPACES[@]}"; do $KUBECTL -n "$ns" get pods -o wide >&2 || true; done
  node journalctl -u systemk -o cat --no-pager -n 40 >&2 || true
  exit 1
}
wait_until() {  # seconds description command...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.3; done
}
jp() { $KUBECTL -n "$1" get "$2" -o "jsonpath=$3" 2>/dev/null || true; }
phase_is() { [[ $(jp "$1" "pod/$2" '{.status.phase}') == "$3" ]]; }
# Running, every container running and ready, none waiting.
pod_healthy() {
  [[ $(jp "$1" "pod/$2" '{.status.phase} {.status.containerStatuses[*].ready} {.status.containerStatuses[*].state.waiting.reason}') == "Running true " ]]
}
ready_status() { $KUBECTL get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true; }
is_ready() { [[ $(ready_status) == True ]]; }
ns_absent() { [[ $($KUBECTL get namespace "$1" -o name 2>&1) == *NotFound* ]]; }
# v1.20 admits pods only once the service account's token secret exists.
sa_exists() { [[ -n $($KUBECTL -n "$1" get serviceaccount default -o 'jsonpath={.secrets[0].name}' 2>/dev/null) ]]; }
agent_active() { [[ $(node systemctl is-active systemk) == active ]]; }

# A fresh namespace (a previous run's may still be terminating).
fresh_ns() {
  local ns=$1
  NAMESPACES+=("$ns")
  $KUBECTL delete namespace "$ns" --ignore-not-found --wait=false >/dev/null
  wait_until 120 "namespace $ns from a previous run gone" ns_absent "$ns"
  $KUBECTL create namespace "$ns" >/dev/null || fail "cannot create namespace $ns"
  wait_until 30 "service account in $ns" sa_exists "$ns"
}

# Leaves nothing behind, on success or failure; brings the API server back if a case stopped it.
cleanup() {
  local rc=$?
  "$E2E_DIR/cluster.sh" start-apiserver >/dev/null 2>&1 || true
  ((rc == 0)) || node systemctl start systemk >/dev/null 2>&1 || true
  local ns
  for ns in "${NAMESPACES[@]}"; do
    $KUBECTL -n "$ns" delete pods --all --grace-period=1 --timeout=60s >/dev/null 2>&1 \
      || $KUBECTL -n "$ns" delete pods --all --grace-period=0 --force >/dev/null 2>&1 || true
    $KUBECTL delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  done
  return "$rc"
}

# A pod that uses a secret as a volume and as env, and a configMap as a volume (plus its service
# account token, a second secret), and prints what it read.
ref_pod() {  # namespace name
  $KUBECTL -n "$1" apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: $2}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 2
  volumes:
  - {name: sec, secret: {secretName: app-sec}}
  - {name: cm, configMap: {name: app-cm}}
  containers:
  - name: main
    image: /bin/sh
    command: ["/bin/sh", "-c", 'printf "sec:%s cm:%s env:%s\n" "\$(cat /etc/sec/password)" "\$(cat /etc/cm/greeting)" "\$PASSWORD"; exec sleep 100000']
    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: app-sec, key: password}}}]
    volumeMounts:
    - {name: sec, mountPath: /etc/sec}
    - {name: cm, mountPath: /etc/cm}
POD
}

# What the agent logs when a pod cannot find a secret or configMap.
LOST="(secret|configMap|configmap) '[^']*' not found|CreateContainerConfigError"

# Every pod healthy with the same container process as before ("ns/pod pid" lines).
check_unchanged() {  # when pids...
  local when=$1 entry; shift
  for entry in "$@"; do
    local key=${entry% *} pid=${entry#* }
    local ns=${key%/*} name=${key#*/}
    pod_healthy "$ns" "$name" || fail "$when: pod $key is not Running and ready: $(jp "$ns" "pod/$name" '{.status}')"
    local now; now=$(main_pid "systemk.$ns.$name.main.service") || fail "$when: pod $key has no running unit"
    [[ $now == "$pid" ]] || fail "$when: pod $key's container was restarted ($pid -> $now)"
  done
}

case_references_survive_restart_and_relist() {
  local a=$PREFIX-refs-a b=$PREFIX-refs-b ns
  fresh_ns "$a"; fresh_ns "$b"
  local -a pids=()
  for ns in "$a" "$b"; do
    $KUBECTL -n "$ns" create secret generic app-sec --from-literal=password="pw-$ns" >/dev/null
    $KUBECTL -n "$ns" create configmap app-cm --from-literal=greeting="hello-$ns" >/dev/null
    ref_pod "$ns" first
  done
  for ns in "$a" "$b"; do
    wait_until 60 "$ns/first Running" pod_healthy "$ns" first
    # Running comes when the process starts; its first line may reach the journal a moment later.
    wait_until 30 "$ns/first reading its secret and configMap" \
      bash -c "$E2E_DIR/node.sh exec $NODE journalctl -u systemk.$ns.first.main.service -o cat --no-pager | grep -qx 'sec:pw-$ns cm:hello-$ns env:pw-$ns'"
    local pid; pid=$(main_pid "systemk.$ns.first.main.service") || fail "no process for $ns/first"
    pids+=("$ns/first $pid")
  done

  # An agent restart lists every referenced object again at the same time.
  local cursor; cursor=$(node journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
  node systemctl restart systemk
  wait_until 30 "the agent back" agent_active
  wait_until 30 "the node Ready" is_ready
  sleep 5  # time for any wrong status to be written
  check_unchanged "after the agent restart" "${pids[@]}"
  if node journalctl -u systemk --after-cursor="$cursor" -o cat --no-pager | grep -E "$LOST" | grep -F "$PREFIX-"; then
    fail "the agent lost a referenced object after its restart"
  fi
  for ns in "$a" "$b"; do ref_pod "$ns" second; done
  for ns in "$a" "$b"; do wait_until 60 "$ns/second Running" pod_healthy "$ns" second; done
  echo "agent restarted: pods using two secrets and a configMap in 2 namespaces kept running; new pods start"

  # The API server restarts: every watch reconnects, those whose resourceVersion is too old relist.
  cursor=$(node journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
  "$E2E_DIR/cluster.sh" restart-apiserver 3 >/dev/null
  wait_until 30 "the node Ready" is_ready
  sleep 8  # the informers back off up to 5 s before they reconnect
  for ns in "$a" "$b"; do
    local pid; pid=$(main_pid "systemk.$ns.second.main.service") || fail "no process for $ns/second"
    pids+=("$ns/second $pid")
  done
  check_unchanged "after the API server restart" "${pids[@]}"
  local log; log=$(node journalctl -u systemk --after-cursor="$cursor" -o cat --no-pager)
  echo "informers that relisted after the API server restart: $(grep -c 'relisting' <<<"$log" || true)"
  if grep -E "$LOST" <<<"$log" | grep -F "$PREFIX-"; then fail "the agent lost a referenced object after a relist"; fi
  ref_pod "$a" third
  wait_until 60 "$a/third Running" pod_healthy "$a" third
  echo "API server restarted: every pod still Running with its process; a new pod starts"
}

case_apiserver_down_agent_restart() {
  local ns=$PREFIX-down
  fresh_ns "$ns"
  $KUBECTL -n "$ns" apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 2
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: main
    image: /bin/sh
    command: ["/bin/sh", "-c", "echo kept > /data/marker; exec sleep 100000"]
    volumeMounts: [{name: data, mountPath: /data}]
POD
  wait_until 60 "keeper Running" pod_healthy "$ns" keeper
  local uid; uid=$(jp "$ns" pod/keeper '{.metadata.uid}')
  [[ -n $uid ]] || fail "no uid"
  local marker=/var/lib/systemk/pods/$uid/volumes/data/marker
  wait_until 20 "the emptyDir file" node test -s "$marker"
  local unit=systemk.$ns.keeper.main.service
  local pid; pid=$(main_pid "$unit") || fail "keeper has no process"

  local cursor; cursor=$(node journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
  "$E2E_DIR/cluster.sh" stop-apiserver
  node systemctl restart systemk
  sleep 10
  agent_active || fail "the agent is not running while the API server is down"
  [[ $(main_pid "$unit") == "$pid" ]] || fail "the pod's unit was stopped while the API server was down"
  node test -s "$marker" || fail "the emptyDir data was deleted while the API server was down"
  local log; log=$(node journalctl -u systemk --after-cursor="$cursor" -o cat --no-pager)
  grep -q "waiting for the API server" <<<"$log" || fail "the agent did not say that it waits for the API server: $log"
  if grep -E "removed|orphan" <<<"$log"; then fail "the agent removed units while the API server was down"; fi

  "$E2E_DIR/cluster.sh" start-apiserver >/dev/null
  wait_until 60 "the node Ready" is_ready
  wait_until 30 "keeper Running" pod_healthy "$ns" keeper
  sleep 3
  check_unchanged "after the API server came back" "$ns/keeper $pid"
  node test -s "$marker" || fail "the emptyDir data is gone"
  echo "agent restarted while the API server was down: the pod kept running with its data, adopted when the server came back"
}

case "${1:-}" in
  references_survive_restart_and_relist|apiserver_down_agent_restart)
    trap cleanup EXIT
    "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
