#!/usr/bin/env bash
# End-to-end cases for the pod engine under faults: pods that never prepared, same-name pods
# recreated while the agent was down, systemd re-exec and D-Bus restarts, crash loops, Never
# pods after a reboot, zero grace periods.
#   engine.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-engine
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
k() { $KUBECTL -n "$NS" "$@"; }
fail() {
  echo "FAIL: $*" >&2
  k get pods -o wide >&2 || true
  node journalctl -u systemk -o cat --no-pager -n 60 >&2 || true
  exit 1
}
wait_until() {  # seconds description condition
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  until eval "$3"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.3; done
}
# Every probe fails loudly when kubectl or systemctl fail, instead of looking like "empty".
jp() { k get "$1" -o "jsonpath=$2"; }
phase_is() { [[ $(jp "pod/$1" '{.status.phase}') == "$2" ]]; }
unit_prop() { node systemctl show -p "$2" --value "$1"; }
TOLERATION='tolerations: [{key: virtual-kubelet.io/provider, operator: Equal, value: systemk, effect: NoSchedule}]'
PINNED="nodeName: $NODE"

setup() {
  $KUBECTL create namespace "$NS" >/dev/null 2>&1 || true
  # v1.20 admits pods only once the service account's token secret exists.
  wait_until 30 "service account token" '[[ -n $(k get serviceaccount default -o "jsonpath={.secrets[0].name}" 2>/dev/null) ]]'
  [[ $(node systemctl is-active systemk) == active ]] || node systemctl start systemk
}
cleanup() { k delete pod --all --grace-period=1 --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

pod() {  # name restartPolicy grace command
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  $PINNED
  $TOLERATION
  restartPolicy: $2
  terminationGracePeriodSeconds: $3
  automountServiceAccountToken: false  # these cases are about the engine, not secret watches
  containers:
  - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "$4"]}
POD
}

# The agent's CPU time (ticks of 10 ms) from /proc, in the node.
agent_ticks() {
  local pid; pid=$(node systemctl show -p MainPID --value systemk)
  [[ $pid =~ ^[1-9][0-9]*$ ]] || fail "systemk has no main process"
  node cat "/proc/$pid/stat" | awk '{print $14 + $15}'
}
# Fails if the agent uses more than 1 s of CPU in 10 s (a busy loop uses 10 s).
check_no_spin() {
  local before after; before=$(agent_ticks); sleep 10; after=$(agent_ticks)
  echo "measured: agent CPU over 10 s after $1: $(( (after - before) * 10 )) ms"
  (( after - before < 100 )) || fail "the agent spins after $1: $(( (after - before) * 10 )) ms CPU in 10 s"
}

case_missing_configmap_deleted() {
  setup
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: no-config}
spec:
  $PINNED
  $TOLERATION
  terminationGracePeriodSeconds: 5
  containers: [{name: c, image: /bin/sleep, command: [/bin/sleep, "1000"], volumeMounts: [{name: v, mountPath: /v}]}]
  volumes: [{name: v, configMap: {name: does-not-exist}}]
POD
  wait_until 60 "CreateContainerConfigError" \
    '[[ $(jp pod/no-config "{.status.containerStatuses[0].state.waiting.reason}") == CreateContainerConfigError ]]'
  k delete pod no-config --wait=true --timeout=15s >/dev/null || fail "a pod that never prepared was not deleted within its grace"
  k get pod no-config >/dev/null 2>&1 && fail "the pod still exists"
  echo "a pod whose configMap is missing was deleted within its grace period"
}

case_recreated_while_down_runs_fresh() {
  setup
  k delete pod again --ignore-not-found --wait=true >/dev/null
  pod again Always 2 "exec sleep 100000"
  wait_until 60 "again Running" "phase_is again Running"
  local unit="systemk.$NS.again.main.service"
  local old_uid old_inv
  old_uid=$(jp pod/again '{.metadata.uid}')
  old_inv=$(unit_prop "$unit" InvocationID)
  [[ -n $old_inv ]] || fail "no InvocationID for the first pod"
  node systemctl stop systemk
  k delete pod again --grace-period=0 --force >/dev/null 2>&1
  pod again Always 2 "exec sleep 100000"
  local new_uid; new_uid=$(jp pod/again '{.metadata.uid}')
  [[ $new_uid != "$old_uid" ]] || fail "the pod was not recreated"
  node systemctl start systemk
  wait_until 60 "the new pod Running" "phase_is again Running"
  wait_until 30 "a new run of the unit" '[[ $(unit_prop '"$unit"' InvocationID) != "'"$old_inv"'" ]]'
  node grep -q "^PodUID=\"$new_uid\"\$" "/run/systemd/system/$unit" || fail "the unit file is not the new pod's"
  [[ $(jp pod/again '{.status.containerStatuses[0].restartCount}') == 0 ]] || fail "the new pod inherited a restart count"
  echo "a same-name pod recreated while the agent was down runs fresh (InvocationID $old_inv -> $(unit_prop "$unit" InvocationID))"
}

case_systemd_reexec_and_dbus_restart() {
  setup
  for p in before-reexec after-reexec after-dbus; do k delete pod "$p" --ignore-not-found --wait=false >/dev/null; done
  pod before-reexec Always 2 "exec sleep 100000"
  wait_until 60 "before-reexec Running" "phase_is before-reexec Running"
  node systemctl daemon-reexec
  check_no_spin "systemctl daemon-reexec"
  [[ $(node systemctl is-active systemk) == active ]] || fail "the agent died"
  pod after-reexec Always 2 "exec sleep 100000"
  wait_until 60 "a pod started after the re-exec Running" "phase_is after-reexec Running"
  node systemctl restart dbus
  check_no_spin "systemctl restart dbus"
  pod after-dbus Always 2 "exec sleep 100000"
  wait_until 60 "a pod started after the D-Bus restart Running" "phase_is after-dbus Running"
  # Status still flows: a killed container is seen and restarted.
  node systemctl kill -s KILL "systemk.$NS.after-dbus.main.service" || true
  wait_until 60 "the restart reported" '[[ $(jp pod/after-dbus "{.status.containerStatuses[0].restartCount}") -ge 1 ]]'
  wait_until 30 "node Ready" '[[ $($KUBECTL get node '"$NODE"' -o "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}") == True ]]'
  echo "the agent recovered from a systemd re-exec and a D-Bus restart without spinning"
}

backoff_count() {  # the highest count of the pod's BackOff Events (this pod, by UID)
  local counts max=0 c
  counts=$(k get events --field-selector "involvedObject.uid=$1,reason=BackOff" -o 'jsonpath={.items[*].count}')
  for c in $counts; do ((c > max)) && max=$c; done
  echo "$max"
}

case_crash_loop_backoff_count_grows() {
  setup
  k delete pod crash --ignore-not-found --wait=true >/dev/null
  pod crash Always 1 "exit 1"
  local uid; uid=$(jp pod/crash '{.metadata.uid}')
  [[ -n $uid ]] || fail "no uid"
  wait_until 150 "a BackOff Event with count > 1" '(( $(backoff_count '"$uid"') > 1 ))'
  [[ $(k get events --field-selector "involvedObject.uid=$uid,reason=BackOff" -o 'jsonpath={.items[*].metadata.name}' | wc -w) == 1 ]] \
    || fail "BackOff posted as several Events instead of one with a count"
  echo "a crash loop's BackOff Event counts $(backoff_count "$uid") occurrences"
  k delete pod crash --wait=false >/dev/null
}

case_never_pod_not_rerun() {
  setup
  k delete pod once --ignore-not-found --wait=true >/dev/null
  pod once Never 2 "exec sleep 100000"
  wait_until 60 "once Running" "phase_is once Running"
  local unit="systemk.$NS.once.main.service"
  # A reboot, in small: the agent is down, the container is gone, /run is empty.
  node systemctl stop systemk
  node systemctl stop "$unit"
  node rm -f "/run/systemd/system/$unit"
  node systemctl daemon-reload
  node systemctl reset-failed "$unit" 2>/dev/null || true
  node systemctl start systemk
  wait_until 60 "once Failed" "phase_is once Failed"
  [[ $(jp pod/once '{.status.containerStatuses[0].state.terminated.reason}') == ContainerStatusUnknown ]] || fail "reason"
  sleep 3
  local state; state=$(unit_prop "$unit" ActiveState)
  [[ $state != active && $state != activating ]] || fail "the Never pod ran again ($state)"
  echo "a Never pod that ran before a reboot was not run again"
}

case_zero_grace_deletable() {
  setup
  k delete pod zero --ignore-not-found --wait=true >/dev/null
  pod zero Always 0 "trap '' TERM; while true; do sleep 1; done"
  wait_until 60 "zero Running" "phase_is zero Running"
  local unit="systemk.$NS.zero.main.service"
  [[ $(unit_prop "$unit" TimeoutStopUSec) == 1s ]] || fail "TimeoutStopSec is $(unit_prop "$unit" TimeoutStopUSec), not 1s"
  k delete pod zero --wait=true --timeout=15s >/dev/null || fail "a pod with terminationGracePeriodSeconds 0 was not deleted"
  wait_until 10 "the unit gone" '[[ $(unit_prop '"$unit"' LoadState) == not-found || $(unit_prop '"$unit"' ActiveState) != active ]]'
  echo "a pod with terminationGracePeriodSeconds 0 was deleted"
}

case "${1:-}" in
  missing_configmap_deleted|recreated_while_down_runs_fresh|systemd_reexec_and_dbus_restart|crash_loop_backoff_count_grows|never_pod_not_rerun|zero_grace_deletable)
    "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
