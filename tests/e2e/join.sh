#!/usr/bin/env bash
# `systemk join` (issue 13): a node with nothing but a bootstrap token and the CA's hash obtains
# its own client certificate through an auto-approved CSR, refuses a CA it was not told to
# trust, and renews its certificate before it expires (the e2e controller-manager signs
# certificates for 8 minutes, backdated by 5, so they last 3 minutes: SYSTEMK_E2E_SIGNING_DURATION).
#   join.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
build=${2:-$SRC_DIR/build}
NS=e2e-join
NODE=node3
source "$E2E_DIR/kube_helpers.sh"

ready() { [[ $($KUBECTL get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; }
client_pem() { echo "$RUN/nodes/$NODE/rootfs/var/lib/systemk/pki/client-current.pem"; }
# Approved CSRs a given user asked for, by name.
approved_csrs_of() {
  $KUBECTL get csr -o json | jq -r --arg u "$1" \
    '.items[] | select(.spec.username == $u and .spec.signerName == "kubernetes.io/kube-apiserver-client-kubelet")
     | select(any(.status.conditions[]?; .type == "Approved")) | select(.status.certificate != null) | .metadata.name'
}

# A kubelet-serving CSR from the node still waiting for approval.
pending_serving_csr() {
  $KUBECTL get csr -o json | jq -r --arg u "system:node:$NODE" \
    '.items[] | select(.spec.username == $u and .spec.signerName == "kubernetes.io/kubelet-serving")
     | select((.status.conditions // []) | length == 0) | .metadata.name' | head -1
}

join_node() {
  local token_and_hash; token_and_hash=$("$E2E_DIR/cluster.sh" bootstrap-token) || fail "bootstrap token"
  TOKEN=${token_and_hash%% *}
  SYSTEMK_E2E_JOIN=$token_and_hash "$E2E_DIR/node.sh" up "$NODE" "$build" >/dev/null
  wait_until 60 "$NODE Ready after joining" ready
}

run_pod_on_node() {  # name
  setup_ns
  k apply -f - >/dev/null <<YAML || fail "creating pod $1"
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: c, image: /bin/sh, command: [/bin/sh, -c, "echo $1 says hello; exec sleep 3600"]}]
YAML
  wait_until 60 "pod $1 Running on $NODE" "phase_is $1 Running"
}

cleanup() {
  k delete pods --all --grace-period=1 --wait=true >/dev/null 2>&1 || true
  "$E2E_DIR/node.sh" down "$NODE" >/dev/null 2>&1 || true
  $KUBECTL delete node "$NODE" >/dev/null 2>&1 || true
}

case_joins_with_bootstrap_token() {
  join_node
  local id=${TOKEN%%.*}
  [[ -n $(approved_csrs_of "system:bootstrap:$id") ]] || { $KUBECTL get csr >&2; fail "no approved client CSR from system:bootstrap:$id"; }
  $KUBECTL get csr
  # The key was made on the node and stays there, readable by root only.
  local pem; pem=$(client_pem)
  [[ $(stat -c %a "$pem") == 600 ]] || fail "client-current.pem is $(stat -c %a "$pem"), not 600"
  [[ $(stat -c %a "$(dirname "$pem")") == 700 ]] || fail "the pki directory is not 700"
  local subject; subject=$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253)
  [[ $subject == *"CN=system:node:$NODE"* && $subject == *"O=system:nodes"* ]] || fail "certificate subject '$subject'"
  run_pod_on_node joined
  # The kubelet API's serving certificate comes from a kubelet-serving CSR, approved by hand as on
  # kubeadm clusters; then the API server, which checks nodes' certificates against the cluster
  # CA (--kubelet-certificate-authority), can fetch logs from this node.
  wait_until 60 "a kubelet-serving CSR from $NODE" '[[ -n $(pending_serving_csr) ]]'
  $KUBECTL certificate approve "$(pending_serving_csr)" >/dev/null || fail "approving the serving CSR"
  wait_until 60 "the serving certificate" \
    "node journalctl -u systemk -o cat --no-pager | grep -q 'serving certificate renewed'"
  local issuer; issuer=$(openssl x509 -in "$RUN/nodes/$NODE/rootfs/var/lib/systemk/pki/serving-current.pem" -noout -issuer)
  [[ $issuer == *systemk-e2e-ca* ]] || fail "serving certificate issued by '$issuer'"
  wait_until 30 "kubectl logs through the API server" '[[ $(k logs joined 2>&1) == "joined says hello" ]]'
  # A restart finds valid credentials and does not bootstrap again.
  node systemctl restart systemk
  wait_until 60 "$NODE Ready after a restart" ready
  node journalctl -u systemk -o cat --no-pager | grep -q 'no bootstrap needed' || fail "the restart bootstrapped again"
  [[ $(approved_csrs_of "system:bootstrap:$id" | wc -l) == 1 ]] || fail "a second bootstrap CSR"
}

case_refuses_wrong_ca_hash() {
  NODE=node1
  local token_and_hash; token_and_hash=$("$E2E_DIR/cluster.sh" bootstrap-token) || fail "bootstrap token"
  local token=${token_and_hash%% *} csrs_before out rc=0
  csrs_before=$($KUBECTL get csr -o name | wc -l)
  out=$(node /opt/systemk/bin/systemk join --server "https://127.0.0.1:${SYSTEMK_E2E_API_PORT:-6443}" --token "$token" \
          --ca-cert-hash "sha256:$(printf '0%.0s' {1..64})" --nodename wrong-hash --state-dir /tmp/e2e-wrong-hash 2>&1) || rc=$?
  echo "$out"
  ((rc == 1)) || fail "join with a wrong CA hash exited $rc, not 1"
  grep -q 'refusing to trust it' <<<"$out" || fail "no clear refusal in the output"
  [[ $($KUBECTL get csr -o name | wc -l) == "$csrs_before" ]] || fail "a CSR was sent although the CA was refused"
  node test ! -e /tmp/e2e-wrong-hash/pki/kubeconfig || fail "credentials were written"
  # A malformed hash or token is a usage error before any connection.
  rc=0; node /opt/systemk/bin/systemk join --server https://127.0.0.1:1 --token "$token" --ca-cert-hash md5:00 \
    --state-dir /tmp/e2e-wrong-hash >/dev/null 2>&1 || rc=$?
  ((rc == 2)) || fail "a malformed --ca-cert-hash exited $rc, not 2"
}

case_rotates_client_certificate() {
  join_node
  local pem first_serial first_end first_end_s
  pem=$(client_pem)
  first_serial=$(openssl x509 -in "$pem" -noout -serial)
  first_end=$(openssl x509 -in "$pem" -noout -enddate | cut -d= -f2)
  first_end_s=$(date -d "$first_end" +%s)
  echo "first client certificate: $first_serial, valid until $first_end"
  wait_until 300 "the client certificate to be renewed" \
    "node journalctl -u systemk -o cat --no-pager | grep -q 'client certificate renewed'"
  [[ $(openssl x509 -in "$pem" -noout -serial) != "$first_serial" ]] || fail "the certificate file did not change"
  [[ -n $(approved_csrs_of "system:node:$NODE") ]] || fail "no approved renewal CSR from system:node:$NODE"
  # Past the first certificate's end the agent still works: status, Lease and a new pod.
  while (($(date +%s) < first_end_s + 15)); do sleep 5; done
  local main_pid; main_pid=$(node systemctl show -p MainPID --value systemk)
  local renew; renew=$($KUBECTL -n kube-node-lease get lease "$NODE" -o 'jsonpath={.spec.renewTime}')
  (($(date -d "$renew" +%s) > first_end_s)) || fail "the Lease was not renewed after the first certificate expired ($renew)"
  ready || fail "$NODE not Ready after the first certificate expired"
  run_pod_on_node after-rotation
  [[ $(node systemctl show -p MainPID --value systemk) == "$main_pid" ]] || fail "the agent restarted"
  ! node journalctl -u systemk -o cat --no-pager | grep -q ' 401' || fail "the agent saw 401s"
}

case "${1:-}" in
  joins_with_bootstrap_token|rotates_client_certificate) trap cleanup EXIT; "case_$1" ;;
  refuses_wrong_ca_hash) "case_$1" ;;
  *) echo "usage: $0 joins_with_bootstrap_token|refuses_wrong_ca_hash|rotates_client_certificate BUILD_DIR" >&2; exit 2 ;;
esac
echo "PASS: join $1"
