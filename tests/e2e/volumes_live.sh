#!/usr/bin/env bash
# End-to-end cases for volumes that stay current (issue 12), with the control plane's
# BoundServiceAccountTokenVolume gate on (cluster.sh), so pods get projected kube-api-access volumes.
#   volumes_live.sh CASE BUILD_DIR
#   default_pod_calls_api   a pod with default settings gets a TokenRequest token bound to it, the
#                           cluster CA and its namespace, and with KUBERNETES_SERVICE_HOST/PORT it
#                           calls the API server authenticated (200 or 403, never 401)
#   configmap_live_update   a running pod sees configMap edits within 10 s, two keys changed
#                           together always as a pair; a subPath mount keeps its content; no restart
#   token_renewed_before_expiry  (label e2e-slow, ~8 min) a 600 s token is replaced on disk before
#                           it expires while the pod runs (renewal at 80 %)
#   memory_volume_and_orphans  emptyDir medium Memory is a tmpfs of its sizeLimit; the volumes of
#                           pods deleted while the agent was down go when it is back, also of a
#                           pod that never got a unit
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-live
source "$E2E_DIR/kube_helpers.sh"
cleanup() { k delete pod --all --grace-period=1 --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

setup() {
  setup_ns
  [[ $(node systemctl is-active systemk) == active ]] || node systemctl start systemk
}

case_default_pod_calls_api() {
  setup
  k delete pod api-caller --ignore-not-found --wait=true >/dev/null
  # The request goes through openssl (in the node's image): TLS verified against the projected
  # ca.crt, the projected token as bearer; the status line is all it prints.
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: api-caller}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  containers:
  - name: app
    image: /bin/sh
    command:
    - /bin/sh
    - -c
    - |
      d=/var/run/secrets/kubernetes.io/serviceaccount
      tok=\$(cat \$d/token) && [ -n "\$tok" ] || { echo NO-TOKEN; exit 1; }
      ns=\$(cat \$d/namespace) && [ -n "\$ns" ] || { echo NO-NAMESPACE; exit 1; }
      printf 'GET /api/v1/namespaces/%s/pods HTTP/1.1\\r\\nHost: kubernetes\\r\\nAuthorization: Bearer %s\\r\\nConnection: close\\r\\n\\r\\n' "\$ns" "\$tok" |
        openssl s_client -connect "\$KUBERNETES_SERVICE_HOST:\$KUBERNETES_SERVICE_PORT" -CAfile \$d/ca.crt \\
          -verify_return_error -quiet 2>/dev/null |
        sed -n -e '1s/^/STATUS /p' -e 's/.*\\(system:serviceaccount:[a-z0-9:-]*\\).*/USER \\1/p'
      echo NAMESPACE \$ns
POD
  # The pod spec carries the projected volume the admission plugin added, not a token secret.
  local volumes; volumes=$(jp pod/api-caller '{.spec.volumes[*].name}') || fail "cannot read the pod"
  [[ $volumes == *kube-api-access-* ]] || fail "no projected kube-api-access volume (is the feature gate on?): $volumes"
  local vol=${volumes##*kube-api-access-}; vol=kube-api-access-${vol%% *}
  wait_until 90 "api-caller Succeeded" 'phase_is api-caller Succeeded'
  local unit="systemk.$NS.api-caller.app.service" id out
  id=$(node systemctl show -p InvocationID --value "$unit") || fail "cannot read $unit"
  out=$(node journalctl "_SYSTEMD_INVOCATION_ID=$id" -o cat --no-pager) || fail "cannot read the journal of $unit"
  [[ $out == *"NAMESPACE $NS"* ]] || fail "the namespace file is wrong: $out"
  local status; status=$(sed -n 's/^STATUS HTTP\/1\.[01] \([0-9]*\).*/\1/p' <<<"$out")
  [[ $status == 200 || $status == 403 ]] || fail "the API server answered '$status' to the pod's token (output: $out)"
  # A 403 names who was refused: the pod's service account, so the token was accepted.
  [[ $status == 200 || $out == *"USER system:serviceaccount:$NS:default"* ]] || fail "403 for someone else: $out"
  # The token is a bound one from the TokenRequest API (its claims name the pod), on tmpfs.
  local uid file claims; uid=$(jp pod/api-caller '{.metadata.uid}')
  file=/run/systemk/pods/$uid/volumes/$vol/token
  [[ $(node stat -L -f -c %T "$file") == tmpfs ]] || fail "the token is not on tmpfs"
  claims=$(token_claims "$file") || fail "cannot read the token's claims"
  [[ $claims == *'"pod":{"name":"api-caller","uid":"'$uid'"}'* ]] || fail "the token is not bound to the pod: $(jq -c '.["kubernetes.io"]' <<<"$claims" 2>&1)"
  k delete pod api-caller --wait=true >/dev/null
  # A finished pod is removed from the API at once (grace 0): the agent cleans up just after.
  wait_until 20 "the token's directory removed" "node test ! -e /run/systemk/pods/$uid"
  echo "default pod: projected token bound to the pod, API server answered $status"
}

case_configmap_live_update() {
  setup
  k delete pod reader --ignore-not-found --wait=true >/dev/null
  k create configmap live --from-literal=a=v0 --from-literal=b=v0 --dry-run=client -o yaml | k apply -f - >/dev/null
  # Reads both keys from one resolved version (..data) ten times a second and prints what it
  # sees when it changes: MIX would be a reader seeing half an update.
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  automountServiceAccountToken: false
  volumes: [{name: live, configMap: {name: live}}]
  containers:
  - name: app
    image: /bin/sh
    volumeMounts: [{name: live, mountPath: /etc/live}, {name: live, mountPath: /etc/pinned-a, subPath: a}]
    command:
    - /bin/sh
    - -c
    - |
      last=; lastp=
      while :; do
        d=\$(readlink /etc/live/..data) && a=\$(cat /etc/live/\$d/a 2>/dev/null) && b=\$(cat /etc/live/\$d/b 2>/dev/null) && {
          if [ "\$a \$b" != "\$last" ]; then
            if [ "\$a" = "\$b" ]; then echo "PAIR \$a \$b"; else echo "MIX \$a \$b"; fi
            last="\$a \$b"
          fi
        }
        p=\$(cat /etc/pinned-a); [ "\$p" = "\$lastp" ] || { echo "PINNED \$p"; lastp=\$p; }
        plain=\$(cat /etc/live/a); [ "\$plain" = "\$lastplain" ] || { echo "PLAIN \$plain"; lastplain=\$plain; }
        sleep 0.1
      done
POD
  wait_until 60 "reader Running" 'phase_is reader Running'
  local unit="systemk.$NS.reader.app.service" pid id
  id=$(unit_property "$unit" InvocationID) || fail "cannot read $unit"
  # This run's output only: the journal keeps earlier pods of the same name.
  journal() { node journalctl "_SYSTEMD_INVOCATION_ID=$id" -o cat --no-pager; }
  seen() { journal | grep -qx "$1"; }
  wait_until 20 "the first version read" 'seen "PAIR v0 v0"'
  pid=$(main_pid "$unit") || fail "no main process"
  local i start elapsed times=""
  for i in 1 2 3 4 5; do
    k create configmap live --from-literal=a=v$i --from-literal=b=v$i --dry-run=client -o yaml | k apply -f - >/dev/null
    start=$(date +%s%N)
    wait_until 10 "version v$i read by the running pod" "seen 'PAIR v$i v$i' && seen 'PLAIN v$i'"
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    times+="${elapsed}ms "
  done
  local log; log=$(journal) || fail "cannot read the journal"
  ! grep -q '^MIX' <<<"$log" || fail "a reader saw a mix of two versions: $(grep '^MIX' <<<"$log" | head -3)"
  [[ $(grep '^PINNED' <<<"$log") == "PINNED v0" ]] || fail "the subPath mount changed: $(grep '^PINNED' <<<"$log")"
  [[ $(main_pid "$unit") == "$pid" ]] || fail "the container was restarted"
  [[ $(jp pod/reader '{.status.containerStatuses[0].restartCount}') == 0 ]] || fail "restartCount is not 0"
  local uid; uid=$(jp pod/reader '{.metadata.uid}')
  local dir=/var/lib/systemk/pods/$uid/volumes/live versions
  versions=$(node sh -c "ls -a $dir | grep -c '^\.\.[0-9]'") || fail "cannot list $dir"
  [[ $versions == 1 ]] || fail "$versions versions left in $dir"
  k delete pod reader --wait=true >/dev/null
  k delete configmap live >/dev/null
  echo "configMap edits reached the running pod in: $times(no mix, subPath pinned, no restart)"
}

case_memory_volume_and_orphans() {
  setup
  k delete pod mem half --ignore-not-found --wait=true >/dev/null
  k delete configmap never-there --ignore-not-found >/dev/null
  # mem runs with a 16 MiB memory emptyDir; half got its memory emptyDir but waits for a
  # configMap that does not exist, so it never has a unit.
  local p
  for p in mem half; do
    k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: $p}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  automountServiceAccountToken: false
  volumes:
  - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
$([[ $p == half ]] && echo "  - {name: conf, configMap: {name: never-there}}" || true)
  containers:
  - name: app
    image: /bin/sh
    volumeMounts: [{name: scratch, mountPath: /scratch}]
    command: ["/bin/sh", "-c", "echo hello > /scratch/f && echo WROTE; exec sleep 100000"]
POD
  done
  wait_until 60 "mem Running" 'phase_is mem Running'
  wait_until 60 "half waiting for its configMap" '[[ $(waiting_reason half) == CreateContainerConfigError ]]'
  local mem_uid half_uid; mem_uid=$(jp pod/mem '{.metadata.uid}'); half_uid=$(jp pod/half '{.metadata.uid}')
  local mem_dir=/run/systemk/pods/$mem_uid/volumes/scratch half_dir=/run/systemk/pods/$half_uid/volumes/scratch
  local fs; fs=$(node findmnt -n -o FSTYPE,SIZE --bytes "$mem_dir") || fail "the memory emptyDir is not a mount"
  [[ $fs =~ ^tmpfs\ +16777216$ ]] || fail "the memory emptyDir is '$fs', not a 16 MiB tmpfs"
  local id; id=$(unit_property "systemk.$NS.mem.app.service" InvocationID) || fail "cannot read mem's unit"
  wait_until 20 "mem writing to it" "node journalctl _SYSTEMD_INVOCATION_ID=$id -o cat --no-pager | grep -qx WROTE"
  node findmnt -n "$half_dir" >/dev/null || fail "half's memory emptyDir was not mounted"
  # Both pods are deleted while the agent is down; when it comes back nothing of them stays.
  node systemctl stop systemk
  k delete pod mem half --grace-period=0 --force >/dev/null 2>&1
  node systemctl start systemk
  wait_until 60 "mem's volumes gone" "node test ! -e /run/systemk/pods/$mem_uid"
  wait_until 30 "half's volumes gone" "node test ! -e /run/systemk/pods/$half_uid"
  node test ! -e "/var/lib/systemk/pods/$half_uid" || fail "half's pod directory is left"
  local mounts; mounts=$(node findmnt -rn -o TARGET) || fail "cannot list mounts"
  ! grep -q -e "$mem_uid" -e "$half_uid" <<<"$mounts" || fail "mounts left: $(grep -e "$mem_uid" -e "$half_uid" <<<"$mounts")"
  echo "memory emptyDir: tmpfs of 16 MiB; volumes of pods deleted while the agent was down removed (with and without units)"
}

# The claims of the JWT in FILE on the node, as JSON (never the token itself).
token_claims() {
  node sh -c "cut -d. -f2 '$1' | tr '_-' '/+' | { read -r p; while [ \$((\${#p} % 4)) -ne 0 ]; do p=\$p=; done; echo \$p; } | base64 -d"
}

case_token_renewed_before_expiry() {
  setup
  k delete pod renew --ignore-not-found --wait=true >/dev/null
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: renew}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  automountServiceAccountToken: false
  volumes:
  - name: short
    projected: {sources: [{serviceAccountToken: {expirationSeconds: 600, path: token}}]}
  containers:
  - name: app
    image: /bin/sh
    volumeMounts: [{name: short, mountPath: /var/run/short}]
    command: ["/bin/sh", "-c", "test -s /var/run/short/token && echo HAS-TOKEN; exec sleep 100000"]
POD
  wait_until 60 "renew Running" 'phase_is renew Running'
  local unit="systemk.$NS.renew.app.service" pid uid file claims iat exp
  local id; id=$(unit_property "$unit" InvocationID) || fail "cannot read $unit"
  wait_until 20 "the pod reading its token" "node journalctl _SYSTEMD_INVOCATION_ID=$id -o cat --no-pager | grep -qx HAS-TOKEN"
  pid=$(main_pid "$unit") || fail "no main process"
  uid=$(jp pod/renew '{.metadata.uid}')
  file=/run/systemk/pods/$uid/volumes/short/token
  claims=$(token_claims "$file") || fail "cannot read the token's claims"
  iat=$(jq -er .iat <<<"$claims") && exp=$(jq -er .exp <<<"$claims") || fail "no iat/exp in the token: $claims"
  ((exp - iat == 600)) || fail "the token lives $((exp - iat)) s, not 600 s"
  log "waiting for the renewal at 80 % of 600 s (about $((iat + 480 - $(date +%s))) s)"
  local new_iat=$iat now
  until ((new_iat != iat)); do
    now=$(date +%s)
    ((now < exp)) || fail "the token expired on disk without being renewed"
    sleep 5
    claims=$(token_claims "$file") || fail "cannot read the token's claims"
    new_iat=$(jq -er .iat <<<"$claims") || fail "no iat in the token: $claims"
  done
  now=$(date +%s)
  ((now < exp)) || fail "the token was renewed only after it expired"
  [[ $(main_pid "$unit") == "$pid" ]] || fail "the container was restarted"
  [[ $(jq -r '.["kubernetes.io"].pod.uid' <<<"$claims") == "$uid" ]] || fail "the new token is not bound to the pod"
  k delete pod renew --wait=true >/dev/null
  echo "a 600 s token was replaced $((new_iat - iat)) s after it was issued, $((exp - now)) s or less before it would expire"
}

case "${1:-}" in
  default_pod_calls_api|configmap_live_update|memory_volume_and_orphans|token_renewed_before_expiry) "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
