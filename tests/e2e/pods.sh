#!/usr/bin/env bash
# End-to-end cases for pods as systemd units, driven with kubectl against the real control plane.
#   pods.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=${SYSTEMK_E2E_NS:-e2e-pods}
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
k() { $KUBECTL -n "$NS" "$@"; }
fail() { echo "FAIL: $*" >&2; k get pods -o wide >&2 || true; node journalctl -u systemk -o cat --no-pager -n 40 >&2 || true; exit 1; }
wait_until() {  # seconds description command...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  # A single argument is a condition evaluated afresh on every try.
  if (($# == 1)); then
    until eval "$1"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.3; done
  else
    until "$@"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.3; done
  fi
}
# The API server says the pod does not exist (an unreachable server is not "gone").
pod_gone() { [[ $(k get pod "$1" -o name 2>&1) == *NotFound* ]]; }
phase_is() { [[ $(k get pod "$1" -o 'jsonpath={.status.phase}' 2>/dev/null) == "$2" ]]; }
jp() { k get "$1" -o "jsonpath=$2" 2>/dev/null || true; }
restarts() { jp "pod/$1" '{.status.containerStatuses[0].restartCount}'; }
waiting() { jp "pod/$1" '{.status.containerStatuses[0].state.waiting.reason}'; }
now_ms() { date +%s%3N; }
TOLERATION='tolerations: [{key: virtual-kubelet.io/provider, operator: Equal, value: systemk, effect: NoSchedule}]'
# Every pod names its node: with a second node up the scheduler could pick either.
PIN="nodeName: $NODE"

# A failed case must not break the next ones: remove what it left in the namespace.
cleanup_after_failure() {
  echo "cleaning up namespace $NS after the failure" >&2
  k delete deployment --all --wait=false >/dev/null 2>&1 || true
  k delete pods --all --grace-period=1 --timeout=60s >/dev/null 2>&1 \
    || k delete pods --all --grace-period=0 --force >/dev/null 2>&1 || true
}

# The agent runs again under another main process than OLD_PID.
agent_restarted() { local pid; pid=$(main_pid systemk 2>/dev/null) && [[ $pid != "$1" && $(node systemctl is-active systemk) == active ]]; }

setup_ns() { $KUBECTL create namespace "$NS" >/dev/null 2>&1 || true; wait_until 30 "service account" sa_exists; }
# v1.20 admits pods only once the service account's token secret exists.
sa_exists() { [[ -n $(k get serviceaccount default -o 'jsonpath={.secrets[0].name}' 2>/dev/null) ]]; }

case_examples_run() {
  setup_ns
  for f in bash-loop shared-emptydir init-container; do sed "/^  uid:/d; s/namespace: default/namespace: $NS/; s/^spec:\$/spec:\n  $PIN/" "$SRC_DIR/examples/$f.yaml" | k apply -f - >/dev/null; done
  for p in bash-loop shared-volume with-init; do wait_until 60 "$p Running" phase_is "$p" Running; done
  wait_until 20 "all containers ready" "[[ \$(jp pod/shared-volume '{.status.containerStatuses[*].ready}') == 'true true' ]]"
  [[ $(jp pod/with-init '{.status.initContainerStatuses[0].state.terminated.reason}') == Completed ]] || fail "init status"
  [[ $(jp pod/with-init '{.status.conditions[?(@.type=="Initialized")].status}') == True ]] || fail "Initialized"
  [[ $(jp pod/bash-loop '{.status.conditions[?(@.type=="Ready")].status}') == True ]] || fail "Ready"
  [[ $(jp pod/bash-loop '{.status.podIP}') == 127.0.0.1 && $(jp pod/bash-loop '{.status.hostIP}') == 127.0.0.1 ]] || fail "IPs"
  [[ -n $(jp pod/bash-loop '{.status.containerStatuses[0].state.running.startedAt}') ]] || fail "startedAt"
  local unit="systemk.$NS.with-init.app.service"
  wait_until 20 "the app reading the init container's file" \
    bash -c "$E2E_DIR/node.sh exec $NODE journalctl -u $unit -o cat --no-pager | grep -qx 'prepared by init'"
  wait_until 20 "the reader seeing the writer's file" \
    bash -c "$E2E_DIR/node.sh exec $NODE journalctl -u systemk.$NS.shared-volume.reader.service -o cat --no-pager | grep -q UTC"
  wait_until 20 "bash-loop output with its env" \
    bash -c "$E2E_DIR/node.sh exec $NODE journalctl -u systemk.$NS.bash-loop.loop.service -o cat --no-pager | grep -qF 'hello from bash-loop on $NODE (100% of \$HOME)'"
  k get pods -o wide
}

case_delete_removes_units() {
  setup_ns
  k get pod bash-loop >/dev/null 2>&1 || case_examples_run >/dev/null
  local uid; uid=$(jp pod/shared-volume '{.metadata.uid}')
  node test -d "/var/lib/systemk/pods/$uid/volumes/shared" || fail "emptyDir directory missing"
  local start; start=$(now_ms)
  k delete pod shared-volume --wait=true >/dev/null
  echo "measured: kubectl delete returned after $(( $(now_ms) - start )) ms (grace 30 s)"
  wait_until 10 "the pod's units stopped" none_running "systemk.$NS.shared-volume.*"
  echo "units of the deleted pod still loaded: $(units_matching "systemk.$NS.shared-volume.*" | wc -l)"
  node test ! -e "/var/lib/systemk/pods/$uid" || fail "pod files left behind"
  node test ! -e "/run/systemd/system/systemk.$NS.shared-volume.writer.service" || fail "unit file left behind"
}

run_pod() {  # name restartPolicy command
  k delete pod "$1" --ignore-not-found --wait=true >/dev/null
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  $TOLERATION
  $PIN
  restartPolicy: $2
  terminationGracePeriodSeconds: 2
  containers:
  - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "$3"]}
POD
}

case_exit_codes_and_restarts() {
  setup_ns
  run_pod exit-never Never "echo bye; exit 3"
  wait_until 60 "exit-never Failed" phase_is exit-never Failed
  [[ $(jp pod/exit-never '{.status.containerStatuses[0].state.terminated.exitCode}') == 3 ]] || fail "exit code 3 not reported"
  [[ $(jp pod/exit-never '{.status.containerStatuses[0].state.terminated.reason}') == Error ]] || fail "reason Error"
  run_pod exit-zero Never "exit 0"
  wait_until 60 "exit-zero Succeeded" phase_is exit-zero Succeeded
  run_pod crash-always Always "sleep 1; exit 3"
  wait_until 60 "a restart" '[[ $(restarts crash-always) -ge 1 ]]'
  wait_until 60 "CrashLoopBackOff" '[[ $(waiting crash-always) == CrashLoopBackOff ]]'
  [[ $(jp pod/crash-always '{.status.containerStatuses[0].lastState.terminated.exitCode}') == 3 ]] || fail "lastState"
  wait_until 60 "a second restart" '[[ $(restarts crash-always) -ge 2 ]]'
  k get events --field-selector involvedObject.name=crash-always -o 'jsonpath={.items[*].reason}' | grep -q BackOff || fail "no BackOff event"
  k get pods exit-never exit-zero crash-always
  k delete pod exit-never exit-zero crash-always --wait=false >/dev/null
}

case_deployment_rollout() {
  setup_ns
  k apply -f - >/dev/null <<DEP
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      $TOLERATION
      $PIN
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: /bin/sh
        command: ["/bin/sh", "-c", "echo version \$VERSION; exec sleep 100000"]
        env: [{name: VERSION, value: "1"}]
DEP
  k rollout status deployment/web --timeout=120s >/dev/null || fail "first rollout"
  # Ready follows systemd's "active", so the rollout already waited for the three units.
  wait_until 30 "3 running units" '[[ $(count node systemctl list-units --no-legend --state=running "systemk.$NS.web-*") == 3 ]]'
  k set env deployment/web VERSION=2 >/dev/null
  k rollout status deployment/web --timeout=180s >/dev/null || fail "second rollout"
  wait_until 60 "old pods gone" '[[ $(count k get pods -l app=web --no-headers) == 3 ]]'
  local unit; unit=$(node systemctl list-units --no-legend --state=running "systemk.$NS.web-*" | awk '{print $1}' | head -1)
  node journalctl -u "$unit" -o cat --no-pager | grep -qx "version 2" || fail "new pods do not run version 2"
  k scale deployment/web --replicas=0 >/dev/null
  wait_until 90 "no web pods" '[[ $(count k get pods -l app=web --no-headers) == 0 ]]'
  wait_until 30 "no web unit running" none_running "systemk.$NS.web-*"
  local files; files=$(node find /run/systemd/system -maxdepth 1 -name "systemk.$NS.web-*") || fail "cannot list unit files"
  [[ -z $files ]] || fail "unit files left behind: $files"
  echo "deployment rolled out twice and scaled to 0 with every unit removed"
  k delete deployment web >/dev/null
}

case_agent_kill_adopts() {
  setup_ns
  k get pod bash-loop >/dev/null 2>&1 || case_examples_run >/dev/null
  wait_until 60 "bash-loop Running" phase_is bash-loop Running
  local unit="systemk.$NS.bash-loop.loop.service"
  local pid; pid=$(main_pid "$unit") || fail "no container process"
  local before; before=$(jp pod/bash-loop '{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.running.startedAt}')
  [[ $before =~ ^[0-9]+\ [0-9TZ:-]+$ ]] || fail "cannot read the status before the kill: '$before'"
  # SIGKILL to the agent's main process itself: `systemctl kill` also signals the unit's other
  # processes and may report an error about those although the agent died.
  local agent; agent=$(main_pid systemk) || fail "the agent is not running"
  node kill -KILL "$agent"
  # systemd restarts the agent (Restart=always, RestartSec=2).
  wait_until 30 "the agent back" agent_restarted "$agent"
  sleep 3
  [[ $(main_pid "$unit") == "$pid" ]] || fail "the container was restarted"
  [[ $(jp pod/bash-loop '{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.running.startedAt}') == "$before" ]] \
    || fail "status changed across the agent restart"
  phase_is bash-loop Running || fail "phase changed"
  echo "agent killed with SIGKILL and restarted: container kept MainPID $pid, status unchanged"
}

case_grace_period_kill() {
  setup_ns
  k delete pod stubborn --ignore-not-found --wait=true >/dev/null
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  $TOLERATION
  $PIN
  terminationGracePeriodSeconds: 60
  containers:
  - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "trap '' TERM; while true; do sleep 1; done"]}
POD
  wait_until 60 "stubborn Running" phase_is stubborn Running
  local start; start=$(now_ms)
  # The pod asks for 60 s; the deletion's 3 s must win (the wait's limit is far below 60 s).
  k delete pod stubborn --grace-period=3 --wait=false >/dev/null
  wait_until 40 "stubborn gone" pod_gone stubborn
  echo "measured: a pod ignoring SIGTERM deleted with --grace-period=3 was gone after $(( $(now_ms) - start )) ms"
  wait_until 10 "the pod's units stopped" none_running "systemk.$NS.stubborn.*"
  node test ! -e "/run/systemd/system/systemk.$NS.stubborn.main.service" || fail "unit file left behind"
}

case_deleted_while_agent_down() {
  setup_ns
  run_pod orphan Always "exec sleep 100000"
  wait_until 60 "orphan Running" phase_is orphan Running
  local uid; uid=$(jp pod/orphan '{.metadata.uid}')
  node systemctl stop systemk
  k delete pod orphan --grace-period=0 --force >/dev/null 2>&1
  [[ $(node systemctl is-active "systemk.$NS.orphan.main.service") == active ]] || fail "unit should still run while the agent is down"
  node systemctl start systemk
  wait_until 30 "the orphaned unit removed" unit_inactive "systemk.$NS.orphan.main.service"
  node test ! -e "/run/systemd/system/systemk.$NS.orphan.main.service" || fail "orphaned unit file left"
  node test ! -e "/var/lib/systemk/pods/$uid" || fail "orphaned pod directory left"
  echo "a pod deleted while the agent was down was cleaned up when it came back"
}

case_hostile_values() {
  setup_ns
  k delete pod exact --ignore-not-found --wait=true >/dev/null
  local -a values=($'x\n[Service]\nExecStartPre=/bin/false' '100% of $HOME' 'q"uo'"'"'te and back\slash \\n' '; %n $$')
  local seen3='; %n $'
  local pod; pod=$(mktemp)
  printer_pod '{name: exact}' "$TOLERATION"$'\n'"  $PIN" "${values[@]}" > "$pod"
  k apply -f "$pod" >/dev/null; rm -f "$pod"
  wait_until 60 "exact Succeeded" phase_is exact Succeeded
  local unit="systemk.$NS.exact.printer.service"
  local pre; pre=$(unit_property "$unit" ExecStartPre) || fail "cannot read $unit"
  [[ -z $pre ]] || fail "a value added ExecStartPre: $pre"
  local expected; expected=$(printer_expected "${values[0]}" "${values[1]}" "${values[2]}" "$seen3")
  local got; got=$(node journalctl -u "$unit" -o cat --no-pager | grep -E '^(arg|env):' || true)
  [[ $got == "$expected" ]] || fail "values changed: expected"$'\n'"$expected"$'\n'"got"$'\n'"$got"
  echo "a pod's hostile args and env reached its process exactly, through the API and systemd"
}

case_bad_pods_fail_alone() {
  setup_ns
  k delete pod bad-image bad-config --ignore-not-found --wait=true >/dev/null
  k create configmap settings --from-literal=present=yes --dry-run=client -o yaml | k apply -f - >/dev/null
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: bad-image}
spec:
  $TOLERATION
  $PIN
  containers: [{name: c, image: /no/such/binary}]
---
apiVersion: v1
kind: Pod
metadata: {name: bad-config}
spec:
  $TOLERATION
  $PIN
  containers:
  - name: c
    image: /bin/sh
    command: ["/bin/sh", "-c", "sleep 1000"]
    env: [{name: X, valueFrom: {configMapKeyRef: {name: settings, key: absent}}}]
POD
  wait_until 60 "ErrImagePull" '[[ $(waiting bad-image) == ErrImagePull ]]'
  jp pod/bad-image '{.status.containerStatuses[0].state.waiting.message}' | grep -q "No such file or directory" || fail "image message"
  wait_until 60 "CreateContainerConfigError" '[[ $(waiting bad-config) == CreateContainerConfigError ]]'
  jp pod/bad-config '{.status.containerStatuses[0].state.waiting.message}' | grep -q "key 'absent' not found in configMap 'settings'" \
    || fail "config message"
  k get events --field-selector involvedObject.name=bad-config -o 'jsonpath={.items[*].message}' | grep -q "absent" || fail "no Event"
  # The fix arrives: the key is added, and the pod starts.
  k create configmap settings --from-literal=present=yes --from-literal=absent=now --dry-run=client -o yaml | k apply -f - >/dev/null
  wait_until 60 "bad-config Running after the fix" phase_is bad-config Running
  [[ $(node systemctl is-active systemk) == active ]] || fail "the agent died"
  k get pods bad-image bad-config
  k delete pod bad-image bad-config --wait=false >/dev/null
}

case "${1:-}" in
  examples_run|delete_removes_units|exit_codes_and_restarts|deployment_rollout|agent_kill_adopts|hostile_values|bad_pods_fail_alone|deleted_while_agent_down|grace_period_kill)
    trap 'rc=$?; ((rc == 0)) || cleanup_after_failure' EXIT
    "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
