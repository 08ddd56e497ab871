#!/usr/bin/env bash
# The demo: builds systemk, starts a local control plane (v1.20.2, loopback) and one systemd
# node (systemd-nspawn) with systemk running on it, applies the example pods, and shows them
# running as systemd units.
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

# systemk runs on the node as a service: it registers the node and runs the pods bound to it.
for _ in $(seq 1 50); do
  [[ $($KUBECTL get node node1 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]] && break
  sleep 0.2
done
$KUBECTL apply -f examples/bash-loop.yaml -f examples/shared-emptydir.yaml -f examples/init-container.yaml
$KUBECTL wait --for=condition=Ready pod/bash-loop pod/shared-volume pod/with-init --timeout=120s >/dev/null

echo
echo "== the cluster: node1 is a systemd machine running systemk"
$KUBECTL get nodes,pods -o wide
echo
echo "== the pods are systemd units on node1"
node systemctl list-units --all --no-pager --no-legend 'systemk.*'
echo
echo "== kubectl logs bash-loop --tail=2 (from journald on node1, through the kubelet API)"
$KUBECTL logs bash-loop --tail=2
echo
echo "== kubectl logs with-init -c app (reads the file its init container wrote)"
$KUBECTL logs with-init -c app --tail=1
cat <<TXT

The demo is up.
  kubectl:        $KUBECTL get pods -o wide
                  (or: export KUBECONFIG=$RUN/pki/admin.kubeconfig; PATH=$KUBE_BIN:\$PATH)
  try:            $KUBECTL delete pod bash-loop
  node shell:     tests/e2e/node.sh exec node1 bash
  pod logs:       $KUBECTL logs -f bash-loop
  unit logs:      tests/e2e/node.sh exec node1 journalctl -u 'systemk.*' -f
  agent logs:     tests/e2e/node.sh exec node1 journalctl -u systemk -f
  render a pod:   build/bin/systemk render -f examples/bash-loop.yaml
  tear down:      tools/demo.sh down
TXT
