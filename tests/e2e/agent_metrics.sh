#!/usr/bin/env bash
# End-to-end case for the agent's own Prometheus metrics on the kubelet API (GET /metrics):
# authenticated and authorized like the rest of the API, valid for `promtool check metrics`,
# and counting what the agent did for a pod it ran.
#   agent_metrics.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-metrics
source "$E2E_DIR/kube_helpers.sh"
PKI=$RUN/pki
API_CERT=(--cert "$PKI/kubelet-client.crt" --key "$PKI/kubelet-client.key")

# GET /metrics with the API server's kubelet client certificate into FILE; fails unless 200
# with the Prometheus text content type.
scrape() {
  local port headers=$RUN/metrics.headers code
  port=$(kubelet_port) || fail "no kubelet port"
  code=$(curl -sS -o "$1" -D "$headers" -w '%{http_code}' --cacert "$PKI/ca.crt" "${API_CERT[@]}" \
    "https://127.0.0.1:$port/metrics") || fail "curl /metrics failed"
  [[ $code == 200 ]] || fail "/metrics answered $code: $(head -c 300 "$1")"
  grep -qi '^content-type: text/plain; version=0.0.4' "$headers" || fail "/metrics content type: $(grep -i content-type "$headers")"
}
# The value of the sample SERIES (exactly as written, labels included) in FILE; fails when absent.
value_of() {
  local v; v=$(awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1") || fail "no sample $2 in /metrics"
  echo "$v"
}
# The sum of every sample of family member NAME (any labels) in FILE; fails when there is none.
sum_of() {
  local v; v=$(awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2; found = 1 } END { if (!found) exit 1; printf "%.0f\n", s }' "$1") \
    || fail "no sample of $2 in /metrics"
  echo "$v"
}
# True when the number A is greater than B (floating point).
greater() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

case_metrics_endpoint() {
  setup_ns
  local promtool; promtool=$("$E2E_DIR/promtool.sh") || fail "no promtool"
  [[ $(curl_status /metrics) == 401 ]] || fail "anonymous /metrics not 401"
  # A client certificate from the cluster CA for a user without any RBAC.
  local d=$RUN/metrics-nobody
  mkdir -p "$d"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/nobody.key" -subj /CN=nobody -out "$d/nobody.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$d/ext"
  openssl x509 -req -in "$d/nobody.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 \
    -extfile "$d/ext" -out "$d/nobody.crt" 2>/dev/null || fail "cannot make a client certificate"
  [[ $(curl_status /metrics --cert "$d/nobody.crt" --key "$d/nobody.key") == 403 ]] || fail "unauthorized /metrics not 403"
  [[ $(curl_status /metrics "${API_CERT[@]}") == 200 ]] || fail "kubelet client's /metrics not 200"

  local before=$RUN/metrics.before after=$RUN/metrics.after
  k delete pod counted --ignore-not-found --wait=true >/dev/null
  scrape "$before"
  local syncs0; syncs0=$(awk '$1 == "systemk_pod_sync_duration_seconds_count{operation=\"sync\"}" { print $2 }' "$before")
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: counted}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  containers:
  - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "sleep infinity"], volumeMounts: [{name: data, mountPath: /data}]}
  volumes: [{name: data, emptyDir: {}}]
POD
  wait_until 60 "counted Running" phase_is counted Running
  # The Running phase the agent wrote comes back through its pod watch.
  wait_until 30 "a Running pod in /metrics" \
    "scrape '$after' && greater \"\$(value_of '$after' 'systemk_pods{phase=\"Running\"}')\" 0"

  local check; check=$("$promtool" check metrics < "$after" 2>&1) || fail "promtool check metrics: $check"
  [[ -z $check ]] || fail "promtool check metrics found problems: $check"
  # Through the API server, as `kubectl get --raw` users and Prometheus' node proxy see it.
  local proxied=$RUN/metrics.proxied
  $KUBECTL get --raw "/api/v1/nodes/$NODE/proxy/metrics" > "$proxied" || fail "GET /metrics through the API server failed"
  greater "$(value_of "$proxied" 'systemk_pods{phase="Running"}')" 0 || fail "no Running pod in the proxied /metrics"
  check=$("$promtool" check metrics < "$proxied" 2>&1) || fail "promtool check metrics (proxied): $check"

  local v
  v=$(sum_of "$after" rest_client_requests_total); greater "$v" 0 || fail "no API requests counted"
  v=$(value_of "$after" 'rest_client_requests_total{code="200",method="GET"}'); greater "$v" 0 || fail "no GET 200 counted"
  v=$(value_of "$after" 'rest_client_request_duration_seconds_count{verb="GET"}'); greater "$v" 0 || fail "no GET durations"
  v=$(value_of "$after" 'systemk_pod_sync_duration_seconds_count{operation="sync"}')
  greater "$v" "${syncs0:-0}" || fail "pod syncs did not grow: ${syncs0:-0} -> $v"
  v=$(value_of "$after" 'systemk_pod_sync_duration_seconds_bucket{operation="sync",le="+Inf"}')
  greater "$v" 0 || fail "pod sync histogram has no +Inf bucket count"
  v=$(value_of "$after" 'systemk_containers{state="running"}'); greater "$v" 0 || fail "no running container"
  v=$(value_of "$after" 'systemk_unit_operations_total{operation="start",result="ok"}'); greater "$v" 0 || fail "no unit start"
  v=$(value_of "$after" 'systemk_unit_operation_duration_seconds_count{operation="get_properties"}')
  greater "$v" 0 || fail "no unit property reads"
  v=$(value_of "$after" 'systemk_plugin_calls_total{plugin="pkg-path",call="resolve",result="ok"}')
  greater "$v" 0 || fail "no image resolve by pkg-path"
  v=$(value_of "$after" 'systemk_plugin_call_duration_seconds_count{plugin="volumes",call="prepare"}')
  greater "$v" 0 || fail "no volume prepare"
  v=$(value_of "$after" 'systemk_informer_lists_total{resource="pods"}'); greater "$v" 0 || fail "pods never listed"
  value_of "$after" systemk_pod_queue_depth >/dev/null
  value_of "$after" systemk_pod_workers_running >/dev/null
  v=$(value_of "$after" process_resident_memory_bytes); greater "$v" 1000000 || fail "resident memory $v"
  v=$(value_of "$after" process_open_fds); greater "$v" 3 || fail "open fds $v"
  # The agent's start time: within the node's uptime and not in the future.
  v=$(value_of "$after" process_start_time_seconds)
  greater "$v" "$(( $(date +%s) - 86400 ))" && ! greater "$v" "$(( $(date +%s) + 5 ))" || fail "start time $v"
  echo "anonymous 401, unknown user 403, kubelet client 200 (direct and through the API server);" \
       "promtool check metrics passes;" \
       "$(sum_of "$after" rest_client_requests_total) API requests," \
       "$(value_of "$after" 'systemk_pod_sync_duration_seconds_count{operation="sync"}') pod syncs," \
       "$(value_of "$after" 'systemk_pods{phase="Running"}') running pods," \
       "RSS $(( $(value_of "$after" process_resident_memory_bytes | cut -d. -f1) / 1048576 )) MiB"
  rm -rf "$d" "$before" "$after" "$proxied" "$RUN/metrics.headers"
  k delete pod counted --wait=false >/dev/null
}

"case_$1"
