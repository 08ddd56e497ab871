#!/usr/bin/env bash
# The demo: builds systemk, starts a local control plane (v1.20.2, loopback) and one systemd
# node (systemd-nspawn), runs the example pods on the node as systemd units, and shows them.
#   tools/demo.sh        bring it up (idempotent)
#   tools/demo.sh down   stop everything it started
set -euo pipefail
cd "$(dirname "$0")/.."
export SYSTEMK_E2E_RUN=${SYSTEMK_E2E_RUN:-/run/systemk-e2e}
source tests/e2e/common.sh
node() { tests/e2e/node.sh exec node1 "$@"; }

if [[ ${1:-} == down ]]; then
  tests/e2e/cluster.sh down
  exit 0
fi

tools/install-deps.sh
tests/e2e/prepare.sh all
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake --preset default "${launcher[@]}" >/dev/null
cmake --build --preset default -j "${SYSTEMK_JOBS:-2}" >/dev/null

tests/e2e/cluster.sh up
tests/e2e/node.sh up node1 "$PWD/build"

# systemk runs on the node as a service and registers it (see `kubectl get nodes`). Pods from the
# API server are the next milestone; until then the demo runs the example pods on the node from
# `systemk render`, exactly the units systemk will write.
units=$RUN/nodes/node1/rootfs/etc/systemd/system
for pod in bash-loop shared-emptydir init-container; do
  build/bin/systemk render -f "examples/$pod.yaml" --nodename node1 --node-ip 127.0.0.1 \
    --api-server "https://127.0.0.1:${SYSTEMK_E2E_API_PORT:-6443}" -o "$units"
done
node systemctl daemon-reload
# Volumes: what the emptyDir handler will create for each pod.
grep -h '^Bind' "$units"/systemk.*.service | sed 's/^[A-Za-z]*=//; s/:.*//' | sort -u | while read -r dir; do node mkdir -p "$dir"; done
node systemctl start systemk.default.with-init.prepare.service   # init container: runs to completion first
node systemctl start systemk.default.bash-loop.loop.service systemk.default.shared-volume.writer.service \
  systemk.default.shared-volume.reader.service systemk.default.with-init.app.service
sleep 3

echo
for _ in $(seq 1 50); do
  [[ $($KUBECTL get node node1 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]] && break
  sleep 0.2
done
echo "== the cluster (node1 is registered by systemk running on it)"
$KUBECTL get nodes -o wide
echo
echo "== example pods as systemd units on node1"
node systemctl list-units --all --no-pager --no-legend 'systemk.*'
echo
echo "== logs of bash-loop (journald)"
node journalctl -u systemk.default.bash-loop.loop.service -o cat --no-pager -n 3
echo
echo "== logs of with-init's app container (reads the file its init container wrote)"
node journalctl -u systemk.default.with-init.app.service -o cat --no-pager -n 2
cat <<TXT

The demo is up.
  kubectl:        $KUBECTL get all -A
  node shell:     tests/e2e/node.sh exec node1 bash
  unit logs:      tests/e2e/node.sh exec node1 journalctl -u 'systemk.*' -f
  agent logs:     tests/e2e/node.sh exec node1 journalctl -u systemk -f
  render a pod:   build/bin/systemk render -f examples/bash-loop.yaml
  tear down:      tools/demo.sh down
TXT
