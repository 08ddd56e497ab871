#!/usr/bin/env bash
# End-to-end cases for the kubelet HTTPS API: `kubectl logs` through the real API server (which
# dials the node by InternalIP and authenticates with its kubelet client certificate), and
# direct HTTPS to the node's port for authentication, authorization and routing.
#   logs.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-logs
source "$E2E_DIR/kube_helpers.sh"
PKI=$RUN/pki

pod() {  # name restartPolicy command [extra spec lines]
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  $POD_PLACEMENT
  restartPolicy: $2
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  ${4:-}
  containers:
  - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", $(jq -Rn --arg v "$3" '$v')], volumeMounts: [{name: data, mountPath: /data}]}
  volumes: [{name: data, emptyDir: {}}]
POD
}
running() { phase_is "$1" Running; }
# kubectl logs that fails the case when kubectl fails.
logs() { k logs "$@" || fail "kubectl logs $* failed"; }

case_logs_options() {
  setup_ns
  k delete pod lines --ignore-not-found --wait=true >/dev/null
  # The last line has no newline: journald passes it on when the process ends.
  pod lines Never 'for i in $(seq 1 20); do echo line-$i; done; printf "no newline"'
  wait_until 60 "lines Succeeded" phase_is lines Succeeded
  wait_until 20 "all 20 lines" '[[ $(k logs lines 2>/dev/null | grep -c "^line-") == 20 ]]'
  local all expected; all=$(logs lines)
  expected=$(seq 1 20 | sed 's/^/line-/'; printf 'no newline')
  [[ $all == "$expected" ]] || fail "full log differs: $(head -c 300 <<<"$all")"
  # No systemd lines ("Started ...") and nothing from other units.
  ! grep -q -e Started -e systemd <<<"$all" || fail "systemd's own lines in the log"
  # More lines asked for than the run has: all of them, the first one included.
  [[ $(logs lines --tail=100) == "$all" ]] || fail "--tail=100 of a 21-line run gave: $(k logs lines --tail=100 | head -3)"
  local tail; tail=$(logs lines --tail=5)
  [[ $tail == "$(seq 17 20 | sed 's/^/line-/'; printf 'no newline')" ]] || fail "--tail=5 gave: $tail"
  local stamped; stamped=$(logs lines --timestamps --tail=3)
  [[ $(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (line-(19|20)|no newline)$' <<<"$stamped") == 3 ]] \
    || fail "--timestamps gave: $stamped"
  local limited; limited=$(k logs lines --limit-bytes=100 | od -An -c) || fail "--limit-bytes failed"
  [[ $limited == "$(printf '%s' "$all" | head -c 100 | od -An -c)" ]] || fail "--limit-bytes=100 is not the first 100 bytes"
  [[ $(k logs lines --limit-bytes=100 | wc -c) == 100 ]] || fail "--limit-bytes=100 is not 100 bytes"
  # --since: a pod that prints a line every 0.2 s; everything returned is at most 10 s old when
  # asked, and everything the full log has from 10 s before the answer is in it.
  pod ticker Never 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done'
  wait_until 60 "ticker Running" running ticker
  wait_until 60 "12 s of ticks" '[[ $(k logs ticker 2>/dev/null | grep -c tick-) -ge 60 ]]'
  local before after since full
  before=$(date +%s%N); since=$(logs ticker --since=10s --timestamps); after=$(date +%s%N)
  full=$(logs ticker --timestamps)
  [[ -n $since ]] || fail "--since=10s returned nothing"
  local t line
  while read -r t line; do
    (( $(date -d "$t" +%s%N) >= before - 10000000000 )) || fail "--since=10s returned an older line: $t $line"
  done <<<"$since"
  while read -r t line; do
    if (( $(date -d "$t" +%s%N) >= after - 10000000000 )); then grep -qF "$t $line" <<<"$since" || fail "--since=10s missed $t $line"; fi
  done <<<"$(head -n -3 <<<"$full")"
  echo "tail, timestamps, limit-bytes and since return exactly the expected lines ($(wc -l <<<"$since") lines within 10 s)"
  k delete pod lines ticker --wait=false >/dev/null
}

case_follow() {
  setup_ns
  k delete pod follow --ignore-not-found --wait=true >/dev/null
  pod follow Never 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done'
  wait_until 60 "follow Running" running follow
  local out=$RUN/follow.out pids=() n
  # Several followers at once, then the agent still answers everything else.
  for n in 1 2 3 4 5; do k logs -f follow > "$out.$n" 2>&1 & pids+=($!); done
  for n in 1 2 3 4 5; do
    wait_until 30 "follower $n to see tick-30" "grep -qx tick-30 '$out.$n'"
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  # Lines in order, none missing.
  local got; got=$(grep -c . "$out.1")
  [[ $(head -n "$got" "$out.1") == "$(seq 1 "$got" | sed 's/^/tick-/')" ]] || fail "follow output is not tick-1..tick-$got"
  [[ $(logs follow --tail=1) =~ ^tick-[0-9]+$ ]] || fail "logs after the followers left"
  echo "5 followers streamed $got+ lines each, in order"
  rm -f "$out".*
  k delete pod follow --wait=false >/dev/null
  # A follow ends when the container's process does (as with the kubelet), with its last lines.
  k delete pod short --ignore-not-found --wait=true >/dev/null
  pod short Never 'echo one; echo two; sleep 3; echo three'
  wait_until 60 "short Running" '[[ $(k logs short 2>/dev/null) == one* ]]'
  local followed
  followed=$(timeout 60 $KUBECTL -n "$NS" logs -f short) || fail "kubectl logs -f did not end with the container (status $?)"
  [[ $followed == $'one\ntwo\nthree' ]] || fail "follow of an ending container gave: $followed"
  echo "a follow ends with the container's process, its last line included"
  k delete pod short --wait=false >/dev/null
}

case_previous() {
  setup_ns
  k delete pod again --ignore-not-found --wait=true >/dev/null
  # Runs 1 and 2 print and fail at once: their process is gone by the time journald reads the
  # line, which then may lack the unit's invocation ID (runs are told apart by their windows too).
  pod again Always 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /data/n; echo run-$n; [ $n -ge 3 ] && exec sleep infinity; exit 1'
  wait_until 120 "two restarts" '[[ $(jp pod/again "{.status.containerStatuses[0].restartCount}" 2>/dev/null) == 2 ]] && running again'
  wait_until 20 "the third run's output" '[[ $(k logs again 2>/dev/null) == run-3 ]]'
  [[ $(logs again) == run-3 ]] || fail "current run's log: $(k logs again 2>&1)"
  [[ $(logs again --previous) == run-2 ]] || fail "--previous gave: $(k logs again --previous 2>&1)"
  [[ $(logs again --previous --tail=1 --timestamps) == *Z\ run-2 ]] || fail "--previous --tail=1 --timestamps"
  local out
  if out=$(k logs lonely --previous 2>&1); then fail "--previous of a missing pod succeeded"; fi
  echo "--previous returns the run before the current one"
  k delete pod again --wait=false >/dev/null
}

case_same_name_recreated() {
  setup_ns
  k delete pod reborn --ignore-not-found --wait=true >/dev/null
  pod reborn Never 'echo from-the-first-pod; sleep infinity'
  wait_until 60 "first pod's line" '[[ $(k logs reborn 2>/dev/null) == from-the-first-pod ]]'
  k delete pod reborn --wait=true >/dev/null
  pod reborn Never 'echo from-the-second-pod; sleep infinity'
  wait_until 60 "second pod's line" '[[ $(k logs reborn 2>/dev/null) == *from-the-second-pod* ]]'
  [[ $(logs reborn) == from-the-second-pod ]] || fail "logs mix the pods: $(k logs reborn)"
  # journalctl users can filter the same way.
  local uid; uid=$(jp pod/reborn '{.metadata.uid}') || fail "uid"
  [[ $(node journalctl -o cat --no-pager SYSTEMK_POD_UID="$uid") == from-the-second-pod ]] || fail "journal fields"
  # Another process sending the container's journal fields does not get into its log.
  node sh -c "printf 'MESSAGE=forged\nSYSTEMK_POD_UID=%s\nSYSTEMK_CONTAINER_NAME=main\n' '$uid' | logger --journald" \
    || fail "cannot send a journal entry in $NODE"
  wait_until 10 "the forged entry in the journal" \
    '[[ $(node journalctl -o cat --no-pager SYSTEMK_POD_UID="$uid" MESSAGE=forged) == forged ]]'
  [[ $(logs reborn) == from-the-second-pod ]] || fail "a forged entry is in the log: $(k logs reborn)"
  echo "a recreated pod's log has only its own lines"
  k delete pod reborn --wait=false >/dev/null
}

case_authn_authz() {
  setup_ns
  # The node's own credentials may create both reviews (the Node authorizer's static node
  # rules): no RBAC binding for the node is needed.
  local nk="$KUBE_BIN/kubectl --kubeconfig=$PKI/node-$NODE.kubeconfig" r
  for r in tokenreviews.authentication.k8s.io subjectaccessreviews.authorization.k8s.io; do
    [[ $($nk auth can-i create "$r" 2>/dev/null) == yes ]] || fail "the node may not create $r"
  done
  [[ $(curl_status /pods) == 401 ]] || fail "anonymous request not 401"
  [[ $(curl_status /pods -H 'Authorization: Bearer not-a-token') == 401 ]] || fail "bad token not 401"
  # A client certificate from the cluster CA for a user without any RBAC.
  local d=$RUN/nobody
  mkdir -p "$d"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/nobody.key" -subj /CN=nobody -out "$d/nobody.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$d/ext"
  openssl x509 -req -in "$d/nobody.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 \
    -extfile "$d/ext" -out "$d/nobody.crt" 2>/dev/null || fail "cannot make a client certificate"
  [[ $(curl_status /pods --cert "$d/nobody.crt" --key "$d/nobody.key") == 403 ]] || fail "unauthorized user not 403"
  # A self-signed certificate is no identity.
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/self.key" -subj /O=system:masters/CN=admin -days 1 -out "$d/self.crt" 2>/dev/null
  [[ $(curl_status /pods --cert "$d/self.crt" --key "$d/self.key") == 401 ]] || fail "self-signed client certificate not 401"
  # A service account's bearer token (TokenReview) without RBAC, then with a binding.
  local secret token
  secret=$(k get serviceaccount default -o 'jsonpath={.secrets[0].name}') || fail "sa secret"
  token=$(k get secret "$secret" -o 'jsonpath={.data.token}' | base64 -d) || fail "sa token"
  [[ $(curl_status /pods -H "Authorization: Bearer $token") == 403 ]] || fail "service account without RBAC not 403"
  # The API server's own kubelet client (bound to system:kubelet-api-admin by cluster.sh).
  local api=(--cert "$PKI/kubelet-client.crt" --key "$PKI/kubelet-client.key")
  [[ $(curl_status /pods "${api[@]}") == 200 ]] || fail "kubelet client not 200"
  [[ $(curl_status /healthz "${api[@]}") == 200 ]] || fail "/healthz"
  [[ $(curl_status /no/such/route "${api[@]}") == 404 ]] || fail "unknown route not 404"
  [[ $(curl_status "/containerLogs/$NS/nope/main" "${api[@]}") == 404 ]] || fail "missing pod not 404"
  [[ $(curl_status "/containerLogs/$NS/nope/main?tailLines=x" "${api[@]}") == 400 ]] || fail "bad tailLines not 400"
  [[ $(curl_status "/containerLogs/$NS/nope/main?sinceSeconds=1&sinceTime=2020-01-01T00:00:00Z" "${api[@]}") == 400 ]] \
    || fail "sinceSeconds with sinceTime not 400"
  [[ $(curl_status /exec/a/b/c "${api[@]}" -X POST) == 501 ]] || fail "/exec not 501"
  # TLS below 1.2 is refused.
  if curl -sS -o /dev/null --tlsv1.1 --tls-max 1.1 --cacert "$PKI/ca.crt" "${api[@]}" "https://127.0.0.1:$(kubelet_port)/healthz" 2>/dev/null; then
    fail "TLS 1.1 accepted"
  fi
  local pods; pods=$(curl -sS --cacert "$PKI/ca.crt" "${api[@]}" "https://127.0.0.1:$(kubelet_port)/pods") || fail "GET /pods"
  [[ $(jq -r .kind <<<"$pods") == PodList ]] || fail "/pods is not a PodList"
  echo "anonymous 401, unknown user 403, service account 403, kubelet client 200; 404/400/501 as expected"
}

case_hundred_thousand_lines() {
  setup_ns
  k delete pod many --ignore-not-found --wait=true >/dev/null
  pod many Never 'seq 1 100000; sleep infinity'
  wait_until 60 "many Running" running many
  wait_until 60 "all lines in the journal" '[[ $(k logs many --tail=1 2>/dev/null) == 100000 ]]'
  local start end out=$RUN/many.out
  start=$(date +%s%N)
  k logs -f many > "$out" 2>&1 &
  local pid=$!
  wait_until 60 "the followed log to reach 100000" "[[ \$(tail -n 1 '$out') == 100000 ]]"
  end=$(date +%s%N)
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  [[ $(wc -l < "$out") == 100000 ]] || fail "followed $(wc -l < "$out") lines, not 100000"
  [[ $(sort -n "$out" | uniq | wc -l) == 100000 ]] || fail "lines missing or repeated"
  echo "measured: kubectl logs -f returned 100000 lines in $(( (end - start) / 1000000 )) ms"
  rm -f "$out"
  k delete pod many --wait=false >/dev/null
}

"case_$1"
