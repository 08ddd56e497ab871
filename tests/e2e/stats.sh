#!/usr/bin/env bash
# End-to-end cases for the kubelet API's statistics: /stats/summary (what `kubectl top` and
# metrics-server read) and /metrics/resource, fetched through the real API server's node proxy,
# compared with what systemd reports for the pod's unit. Where systemd reports nothing (a node
# whose cgroup v1 controllers are not delegated, as in this test environment's containers:
# CPUUsageNSec=[not set]), they are compared with the sources systemd would read: the unit's
# cgroup v2 cpu.stat and its processes' resident memory.
#   stats.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-stats
source "$E2E_DIR/kube_helpers.sh"
UNIT=systemk.$NS.burner.burn.service

raw() { $KUBECTL get --raw "/api/v1/nodes/$NODE/proxy/$1" || fail "GET $1 through the API server failed"; }
# Within 10 %: within_10 ACTUAL EXPECTED
within_10() { awk -v a="$1" -v e="$2" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(e > 0 && d <= e * 0.10) }'; }

# Holds ~8 MB in a shell variable, writes 1 MB into its emptyDir, then burns CPU under a 200m limit.
burner() {
  k delete pod burner --ignore-not-found --wait=true >/dev/null
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: burner}
spec:
  $POD_PLACEMENT
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  containers:
  - name: burn
    image: /bin/sh
    command: ["/bin/sh", "-c", "head -c 1048576 /dev/zero > /data/blob; x=\$(head -c 8000000 /dev/zero | tr '\\\\0' a); while :; do :; done"]
    resources: {limits: {cpu: 200m, memory: 256Mi}}
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, emptyDir: {}}]
POD
  wait_until 60 "burner Running" phase_is burner Running
  # The variable is filled before the loop starts: wait for the memory to be there.
  wait_until 30 "burner's memory" '(( $(rss_kib) > 7000 ))'
}

# The unit's processes, and their resident memory in KiB.
unit_pids() {
  local cg; cg=$(unit_property "$UNIT" ControlGroup) || fail "no ControlGroup for $UNIT"
  node sh -c "cat /sys/fs/cgroup/systemd$cg/cgroup.procs 2>/dev/null || cat /sys/fs/cgroup$cg/cgroup.procs" \
    || fail "cannot list the processes of $UNIT"
}
rss_kib() {
  local total=0 pid kib
  for pid in $(unit_pids); do
    kib=$(node awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}
# CPU time of the unit in ns as systemd reports it, else from its cgroup v2 cpu.stat.
unit_cpu_ns() {
  local v cg
  v=$(unit_property "$UNIT" CPUUsageNSec) || fail "cannot read CPUUsageNSec"
  if [[ $v =~ ^[0-9]+$ ]]; then echo "$v"; return; fi
  cg=$(unit_property "$UNIT" ControlGroup) || fail "no ControlGroup"
  v=$(node sh -c "cat /sys/fs/cgroup/unified$cg/cpu.stat 2>/dev/null || cat /sys/fs/cgroup$cg/cpu.stat" | awk '$1 == "usage_usec" {print $2 * 1000}') \
    || fail "cannot read the cpu.stat of $UNIT"
  [[ $v =~ ^[0-9]+$ ]] || fail "no CPU figure for $UNIT anywhere"
  echo "$v"
}
systemd_accounts() { [[ $(unit_property "$UNIT" CPUUsageNSec) =~ ^[0-9]+$ ]]; }

case_summary_matches_systemd() {
  setup_ns
  burner
  local before summary after
  before=$(unit_cpu_ns)
  summary=$(raw stats/summary)
  after=$(unit_cpu_ns)
  local pod; pod=$(jq -c --arg ns "$NS" '.pods[] | select(.podRef.namespace == $ns and .podRef.name == "burner")' <<<"$summary")
  [[ -n $pod ]] || fail "burner is not in the summary: $(head -c 500 <<<"$summary")"
  [[ $(jq -r .podRef.uid <<<"$pod") == $(k get pod burner -o 'jsonpath={.metadata.uid}') ]] || fail "wrong pod UID in the summary"
  [[ $(jq -r '.node.nodeName' <<<"$summary") == "$NODE" ]] || fail "wrong nodeName"
  local cpu; cpu=$(jq -r '.containers[] | select(.name == "burn") | .cpu.usageCoreNanoSeconds' <<<"$pod")
  [[ $cpu =~ ^[0-9]+$ ]] || fail "no container CPU in $pod"
  # The summary was read between the two readings of systemd's figure.
  (( cpu >= before * 9 / 10 && cpu <= after * 11 / 10 )) || fail "summary CPU $cpu ns, systemd $before..$after ns"
  [[ $(jq -r .cpu.usageCoreNanoSeconds <<<"$pod") == "$cpu" ]] || fail "pod CPU is not its one container's"

  local ws expected
  ws=$(jq -r '.containers[] | select(.name == "burn") | .memory.workingSetBytes' <<<"$pod")
  [[ $ws =~ ^[0-9]+$ ]] || fail "no container memory in $pod"
  if systemd_accounts; then
    expected=$(unit_property "$UNIT" MemoryCurrent) || fail "MemoryCurrent"
    local usage; usage=$(jq -r '.containers[] | select(.name == "burn") | .memory.usageBytes' <<<"$pod")
    within_10 "$usage" "$expected" || fail "summary memory usage $usage, systemd MemoryCurrent $expected"
  else
    expected=$(( $(rss_kib) * 1024 ))
    within_10 "$ws" "$expected" || fail "summary working set $ws, the unit's resident memory $expected"
  fi
  (( ws > 7000 * 1024 )) || fail "working set $ws does not hold the 8 MB the container keeps"

  # CPU rate over a window: the next summary's usageNanoCores is the CPU time used since this one.
  local t0 t1 s2 cpu2 rate
  t0=$(date +%s%N)
  summary=$(raw stats/summary)
  cpu=$(jq -r --arg ns "$NS" '.pods[] | select(.podRef.namespace == $ns and .podRef.name == "burner") | .containers[0].cpu.usageCoreNanoSeconds' <<<"$summary")
  sleep 3
  s2=$(raw stats/summary)
  t1=$(date +%s%N)
  cpu2=$(jq -r --arg ns "$NS" '.pods[] | select(.podRef.namespace == $ns and .podRef.name == "burner") | .containers[0].cpu.usageCoreNanoSeconds' <<<"$s2")
  rate=$(jq -r --arg ns "$NS" '.pods[] | select(.podRef.namespace == $ns and .podRef.name == "burner") | .containers[0].cpu.usageNanoCores' <<<"$s2")
  [[ $rate =~ ^[0-9]+$ ]] || fail "no usageNanoCores"
  local measured=$(( (cpu2 - cpu) * 1000000000 / (t1 - t0) ))
  within_10 "$rate" "$measured" || fail "usageNanoCores $rate, CPU used over the window $measured"
  if systemd_accounts; then  # the node enforces CPUQuota=: the container gets its 200m
    within_10 "$rate" 200000000 || fail "usageNanoCores $rate under a 200m limit"
  fi
  echo "measured: burner usageNanoCores $rate (window rate $measured), working set $ws bytes"

  # The node and the emptyDir.
  jq -e '.node.cpu.usageCoreNanoSeconds > 0 and .node.memory.workingSetBytes > 0 and .node.fs.capacityBytes > 0' <<<"$s2" >/dev/null \
    || fail "node figures missing: $(jq -c .node <<<"$s2")"
  local used; used=$(jq -r --arg ns "$NS" '.pods[] | select(.podRef.namespace == $ns and .podRef.name == "burner") | .volume[] | select(.name == "data") | .usedBytes' <<<"$s2")
  [[ $used =~ ^[0-9]+$ ]] && (( used >= 1048576 )) || fail "emptyDir usedBytes '$used' does not count the 1 MB file"
  k delete pod burner --wait=false >/dev/null
}

case_resource_metrics() {
  setup_ns
  burner
  local text; text=$(raw metrics/resource)
  local line; line=$(grep -E "^container_cpu_usage_seconds_total\{container=\"burn\",namespace=\"$NS\",pod=\"burner\"\} [0-9.e+-]+ [0-9]+$" <<<"$text") \
    || fail "no container CPU sample for burner in: $(head -c 800 <<<"$text")"
  local seconds; seconds=$(awk '{print $2}' <<<"$line")
  local ns; ns=$(unit_cpu_ns)
  awk -v s="$seconds" -v n="$ns" 'BEGIN { exit !(s * 1e9 <= n * 1.1 && s * 1e9 >= n * 0.5) }' \
    || fail "container_cpu_usage_seconds_total $seconds s, the unit used $ns ns"
  for family in container_memory_working_set_bytes pod_cpu_usage_seconds_total pod_memory_working_set_bytes \
                node_cpu_usage_seconds_total node_memory_working_set_bytes; do
    grep -qE "^$family(\{[^}]*\})? [0-9.e+-]+ [0-9]+$" <<<"$text" || fail "no $family sample"
  done
  grep -qx 'scrape_error 0' <<<"$text" || fail "scrape_error is not 0"
  local promtool; promtool=$("$E2E_DIR/promtool.sh") || fail "no promtool"
  "$promtool" check metrics <<<"$text" || fail "promtool check metrics failed"
  # Without credentials: 401, like every kubelet path.
  [[ $(curl_status /metrics/resource) == 401 ]] || fail "/metrics/resource without credentials is not 401"
  [[ $(curl_status /stats/summary) == 401 ]] || fail "/stats/summary without credentials is not 401"
  k delete pod burner --wait=false >/dev/null
}

"case_$1"
