#!/usr/bin/env bash
# Pod start-up and deletion through the whole stack, measured as a user sees it (a watch on
# the API server), beside the raw sd-bus floor on the same node:
#   20 pods created one by one: create -> Running p50 / p99
#   100 pods created at once: all Running (and p50)
#   100 pods deleted (grace 2 s): all gone
#   agent RSS and idle CPU with 100 pods
#   sd-bus floor: 100 transient units started / stopped with every request in flight, then the
#   pod's own sandboxed unit (all in flight, and two at a time)
#   RSS floor: the agent's libraries used once each (bench/rss_floor)
# Runs in the e2e environment: brings up its own control plane and node (own run directory and
# ports, so it never meets the test suite's or the demo's) unless SYSTEMK_E2E_RUN names a
# running one; tears down what it started unless KEEP=1.
#   bench/pod_startup.sh [BUILD_DIR]          (default: build; needs bin/systemk, bench/sdbus_floor and bench/rss_floor)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
started=0
if [[ -z ${SYSTEMK_E2E_RUN:-} ]]; then
  export SYSTEMK_E2E_RUN=/run/systemk-bench SYSTEMK_E2E_API_PORT=17443 SYSTEMK_E2E_ETCD_PORT=24890 \
         SYSTEMK_E2E_KCM_PORT=21257 SYSTEMK_E2E_SCHED_PORT=21259
  started=1
fi
source tests/e2e/common.sh
NODE=node1
node() { tests/e2e/node.sh exec "$NODE" "$@"; }
k() { $KUBECTL -n bench "$@"; }
if ((started)); then
  tests/e2e/smoke.sh setup "$build" >/dev/null
  [[ ${KEEP:-0} == 1 ]] || trap 'tests/e2e/smoke.sh teardown >/dev/null 2>&1' EXIT
fi
for _ in $(seq 1 150); do
  [[ $($KUBECTL get node $NODE -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]] && break
  sleep 0.2
done
$KUBECTL create namespace bench >/dev/null 2>&1 || true
for _ in $(seq 1 100); do k get serviceaccount default >/dev/null 2>&1 && break; sleep 0.2; done

pod_yaml() {  # name
  cat <<POD
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {bench: "1"}}
spec:
  nodeName: $NODE
  tolerations: [{key: virtual-kubelet.io/provider, operator: Equal, value: systemk, effect: NoSchedule}]
  terminationGracePeriodSeconds: 2
  automountServiceAccountToken: false
  enableServiceLinks: false
  containers: [{name: c, image: /bin/sleep, command: [/bin/sleep, "100000"]}]
---
POD
}

# Every watch event, stamped with the host's clock when it arrived (ns).
watch_file=$(mktemp)
start_watch() {
  : >"$watch_file"
  # In a session of its own, so that stopping it stops kubectl and the stamping loop together.
  setsid bash -c "$KUBECTL -n bench get pods -l bench=1 -w --output-watch-events \
      -o 'jsonpath={.type} {.object.metadata.name} {.object.status.phase} ready={.object.status.conditions[?(@.type==\"Ready\")].status} {.object.metadata.deletionTimestamp}{\"\\n\"}' |
    while read -r line; do echo \"\$(date +%s%N) \$line\"; done >>'$watch_file'" </dev/null >/dev/null 2>&1 &
  watch_pid=$!
  sleep 1
}
stop_watch() { kill -- -"$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; sleep 0.3; }
# Per pod: first time seen, first time Running (ms).
latencies() {
  awk '{ t=$1; name=$3; if (!(name in first)) first[name]=t; if ($4=="Running" && !(name in run)) run[name]=t }
       END { for (n in run) printf "%d\n", (run[n]-first[n])/1000000 }' "$watch_file" | sort -n
}
ready_latencies() {  # per pod: first seen -> Ready (ms)
  awk '{ t=$1; name=$3; if (!(name in first)) first[name]=t; if ($5=="ready=True" && !(name in r)) r[name]=t }
       END { for (n in r) printf "%d\n", (r[n]-first[n])/1000000 }' "$watch_file" | sort -n
}
percentile() { awk -v p="$1" '{a[NR]=$1} END { if (!NR) {print "n/a"; exit}; i=int((NR*p+99)/100); if (i<1) i=1; print a[i] }'; }
span_ms() {  # from the first event to the last pod's first event matching $1 (awk condition)
  awk "BEGIN{s=0} { if (!s) s=\$1; if (($1) && !(\$3 in seen)) { seen[\$3]=1; e=\$1 } } END { if (!e) print \"n/a\"; else printf \"%d\", (e-s)/1000000 }" "$watch_file"
}
clean() {
  k delete pods -l bench=1 --grace-period=1 --wait=true --timeout=120s >/dev/null 2>&1 || true
}

clean
echo "bench: 20 pods one at a time" >&2
# 1. 20 pods, one at a time.
start_watch
for i in $(seq 1 20); do pod_yaml "single-$i" | k apply -f - >/dev/null; sleep 0.3; done
for _ in $(seq 1 100); do [[ $(ready_latencies | wc -l) -ge 20 ]] && break; sleep 0.2; done
stop_watch
single=$(latencies)
p50_20=$(percentile 50 <<<"$single"); p99_20=$(percentile 99 <<<"$single")
single_ready=$(ready_latencies)
p50_20r=$(percentile 50 <<<"$single_ready"); p99_20r=$(percentile 99 <<<"$single_ready")
clean

echo "bench: 100 pods at once" >&2
# 2. 100 pods at once.
list=$(mktemp)
for i in $(seq 1 100); do pod_yaml "many-$i"; done >"$list"
start_watch
k apply -f "$list" >/dev/null
for _ in $(seq 1 300); do [[ $(latencies | wc -l) -ge 100 ]] && break; sleep 0.2; done
for _ in $(seq 1 300); do [[ $(ready_latencies | wc -l) -ge 100 ]] && break; sleep 0.2; done
all_running=$(span_ms '$4=="Running"')
# Ready: systemd reports the service started (Type=exec: the command executed, after systemd
# built its sandbox); Running already holds from the fork.
all_ready=$(span_ms '$5=="ready=True"')
ready_count=$(ready_latencies | wc -l)
all_created=$(span_ms '$2=="ADDED"')  # kubectl creating the 100 pods: the API side's own floor
many=$(latencies)
p50_100=$(percentile 50 <<<"$many")
stop_watch
running_count=$(wc -l <<<"$many")

# 3. Resources with 100 pods: RSS right after the burst and once settled (the agent hands
# freed heap back after 5 s without activity), and what of it is the agent's own memory
# (anonymous) rather than shared library code in the page cache.
pid=$(node systemctl show -p MainPID --value systemk)
rss_of() { node awk '/^(VmRSS|RssAnon|RssFile)/ {printf "%s ", $2}' "/proc/$pid/status"; }
read -r rss_kb anon_burst_kb _ <<<"$(rss_of)"
sleep 5
t0=$(node awk '{print $14 + $15}' "/proc/$pid/stat"); sleep 30; t1=$(node awk '{print $14 + $15}' "/proc/$pid/stat")
idle_cpu=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 30 }')  # ticks of 10 ms over 30 s -> % of a core
read -r rss_settled_kb anon_kb file_kb <<<"$(rss_of)"
mb() { echo "$(($1 / 1024)).$(( ($1 % 1024) * 10 / 1024 ))"; }

echo "bench: deleting 100 pods" >&2
# 4. Delete 100 pods, grace 2 s.
start_watch
t_delete=$(date +%s%N)
k delete pods -l bench=1 --grace-period=2 --wait=false >/dev/null
for _ in $(seq 1 300); do [[ $(grep -c ' DELETED ' "$watch_file") -ge 100 ]] && break; sleep 0.2; done
stop_watch
last_deleted=$(awk '$2=="DELETED" {e=$1} END {print e}' "$watch_file")
deleted=$(grep -c ' DELETED ' "$watch_file" || true)
all_gone=$(( (last_deleted - t_delete) / 1000000 ))

# 5. The floor on the same node.
floor=$(node /opt/systemk/bench/sdbus_floor 100)
node systemctl stop 'bench-floor-*' >/dev/null 2>&1 || true
# The same with the unit the agent writes for the benchmark's pod (its sandbox included).
pod_yaml floor-pod | node bash -c '/opt/systemk/bin/systemk render -f - --nodename '"$NODE"' > /run/bench-floor-unit'
sandboxed_floor=$(node /opt/systemk/bench/sdbus_floor 100 /run/bench-floor-unit)
node systemctl stop 'bench-floor-*' >/dev/null 2>&1 || true
# The same with two starts in flight at a time: whether the sandboxes cost less when they do not
# contend (they do not: the cost is each namespace's own setup).
sandboxed_floor_2=$(node /opt/systemk/bench/sdbus_floor 100 /run/bench-floor-unit 2)
node systemctl stop 'bench-floor-*' >/dev/null 2>&1 || true
# The agent's libraries used once each, nothing else: the floor under the agent's RSS.
rss_floor=$(node bash -c 'c=/etc/systemk/config.yaml; v() { sed -n "s/^$1: *//p" $c; }
  /opt/systemk/bench/rss_floor "$(v kubeconfig)" "$(v certfile)" "$(v keyfile)" "$(v nodename)" 2>/dev/null')
node rm -f /run/bench-floor-unit

rm -f "$list" "$watch_file"
echo
echo "| figure | systemk | budget |"
echo "|---|---|---|"
echo "| 20 pods create→Running p50 / p99 | $p50_20 / $p99_20 ms | p99 ≤ 100 ms |"
echo "| 20 pods create→Ready p50 / p99 | $p50_20r / $p99_20r ms | – |"
echo "| 100 pods created at once: all Running | $all_running ms (p50 $p50_100 ms; $running_count/100 seen; the last pod was created at $all_created ms) | ≤ 1000 ms |"
echo "| 100 pods created at once: all Ready | $all_ready ms ($ready_count/100 seen) | – |"
echo "| 100 pods deleted (grace 2 s): all gone | $all_gone ms ($deleted/100; from kubectl delete) | ≤ 3000 ms |"
echo "| agent RSS with 100 pods | $(mb "$rss_kb") MB after the burst, $(mb "$rss_settled_kb") MB settled (anonymous $(mb "$anon_kb") MB, shared library and program code $(mb "$file_kb") MB; $(mb "$anon_burst_kb") MB anonymous after the burst) | ≤ 15 MB |"
echo "| agent CPU, idle, 100 pods | $idle_cpu % of a core | ≤ 0.2 % |"
echo
echo "$floor"
echo "$sandboxed_floor"
echo "$sandboxed_floor_2"
echo "$rss_floor"
