#!/usr/bin/env bash
# Measures, on a real systemd 252 node, what a pod start costs with and without daemon-reload:
#   1. writing N new unit files and starting each (systemd loads a new file on first reference),
#   2. one `daemon-reload` with N units loaded,
# for N in the arguments (default: 10 100 300). Needs the demo environment (tools/demo.sh).
# Prints one line per measurement; docs/performance.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export SYSTEMK_E2E_RUN=${SYSTEMK_E2E_RUN:-/run/systemk-e2e}
node() { tests/e2e/node.sh exec node1 "$@"; }
sizes=("$@"); ((${#sizes[@]})) || sizes=(10 100 300)

node bash -s "${sizes[@]}" <<'INNODE'
set -euo pipefail
dir=/run/systemd/system
ms() { date +%s%3N; }
for n in "$@"; do
  for i in $(seq 1 "$n"); do
    printf '[Service]\nType=exec\nExecStart=/bin/sleep 3600\nRemainAfterExit=yes\n' > "$dir/bench-$n-$i.service"
  done
  t0=$(ms)
  for i in $(seq 1 "$n"); do systemctl start --no-block "bench-$n-$i.service"; done
  systemctl is-active -q "bench-$n-$n.service" || sleep 1
  t1=$(ms)
  echo "units=$n start_without_reload_total_ms=$((t1 - t0)) per_unit_ms=$(( (t1 - t0) / n ))"
  t0=$(ms); systemctl daemon-reload; t1=$(ms)
  echo "units=$n daemon_reload_ms=$((t1 - t0)) loaded_units=$(systemctl list-units --all --no-legend | wc -l)"
  for i in $(seq 1 "$n"); do systemctl stop --no-block "bench-$n-$i.service"; rm -f "$dir/bench-$n-$i.service"; done
  sleep 1
done
INNODE
