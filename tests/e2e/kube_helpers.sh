# Helpers for e2e cases that drive pods with kubectl; sourced after common.sh, with NS and
# NODE set. Every probe fails loudly: a kubectl or systemctl error never reads as "absent".
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
k() { $KUBECTL -n "$NS" "$@"; }
fail() {
  echo "FAIL: $*" >&2
  k get pods -o wide >&2 || true
  node journalctl -u systemk -o cat --no-pager -n 40 >&2 || true
  exit 1
}
wait_until() {  # seconds description command... (a single argument is eval'ed afresh each try)
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  if (($# == 1)); then
    until eval "$1"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.3; done
  else
    until "$@"; do ((SECONDS < deadline)) || fail "timed out after $limit s waiting for $what"; sleep 0.3; done
  fi
}
jp() { k get "$1" -o "jsonpath=$2"; }
phase_is() { [[ $(jp "pod/$1" '{.status.phase}' 2>/dev/null) == "$2" ]]; }
waiting_reason() { jp "pod/$1" '{.status.containerStatuses[0].state.waiting.reason}' 2>/dev/null; }
setup_ns() {
  $KUBECTL create namespace "$NS" >/dev/null 2>&1 || $KUBECTL get namespace "$NS" >/dev/null || fail "namespace $NS"
  # v1.20 admits pods only once the service account's token secret exists.
  wait_until 30 "service account token" '[[ -n $(k get serviceaccount default -o "jsonpath={.secrets[0].name}" 2>/dev/null) ]]'
}
# Pins a pod to this case's node and tolerates systemk's taint.
POD_PLACEMENT="nodeName: $NODE
  tolerations: [{key: virtual-kubelet.io/provider, operator: Equal, value: systemk, effect: NoSchedule}]"
# The node's kubelet API port as its Node object publishes it.
kubelet_port() { $KUBECTL get node "$NODE" -o 'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}'; }
# HTTP status of a direct request to the node's kubelet API: curl_status PATH [curl options].
curl_status() {
  local path=$1 port; shift
  port=$(kubelet_port) || fail "no kubelet port"
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$RUN/pki/ca.crt" "$@" "https://127.0.0.1:$port$path" \
    || fail "curl $path failed"
}
