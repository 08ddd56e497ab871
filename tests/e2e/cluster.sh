#!/usr/bin/env bash
# A real control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler (v1.20.2 from Debian's source package, built by prepare.sh), fresh PKI per run.
#   cluster.sh up      start (idempotent: a running cluster is left alone)
#   cluster.sh down    stop every process this run started, by PID
#   cluster.sh node-kubeconfig NAME   write certs + kubeconfig for node NAME, print its path
#   cluster.sh bootstrap-token        kubeadm's join set-up (cluster-info, RBAC, a token); prints
#                                     "TOKEN CA_HASH"
set -euo pipefail
source "$(dirname "$0")/common.sh"

ETCD_PORT=${SYSTEMK_E2E_ETCD_PORT:-23790}
API_PORT=${SYSTEMK_E2E_API_PORT:-6443}
# Several clusters (the demo and the test suite) may run at once: every port is configurable.
KCM_PORT=${SYSTEMK_E2E_KCM_PORT:-10257}
SCHED_PORT=${SYSTEMK_E2E_SCHED_PORT:-10259}
PKI=$RUN/pki

cert() {  # name subject [san] : a CA-signed client/server certificate
  local name=$1 subject=$2 san=${3:-}
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

kubeconfig() {  # name user-cert-name : a kubeconfig with absolute paths
  cat > "$PKI/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: e2e
  context: {cluster: e2e, user: $2}
current-context: e2e
KC
}

make_pki() {
  mkdir -p "$PKI"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=systemk-e2e-ca" -days 30 -out "$PKI/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
  cert admin "/O=system:masters/CN=admin"
  cert kcm "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  # Not a superuser: the nodes' kubelet API authorizes it through RBAC (bound below).
  cert kubelet-client "/CN=kube-apiserver-kubelet-client"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  kubeconfig admin admin
  kubeconfig kcm kcm
  kubeconfig scheduler scheduler
}

start() {  # name command... : a background process with its pid and log in $RUN
  local name=$1; shift
  setsid "$@" > "$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/pids/$name.pid"
}

alive() { [[ -f $RUN/pids/$1.pid ]] && kill -0 "$(cat "$RUN/pids/$1.pid")" 2>/dev/null; }

wait_for() {  # seconds description command...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then log "timed out waiting for $what"; return 1; fi
    sleep 0.5
  done
}

# BoundServiceAccountTokenVolume (alpha in v1.20, on by default since v1.22) makes every pod get a
# projected kube-api-access-* volume (a TokenRequest token, kube-root-ca.crt, the namespace)
# instead of the legacy token secret: the node is tested as on any current cluster.
start_apiserver() {
  start kube-apiserver "$KUBE_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --secure-port="$API_PORT" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --service-cluster-ip-range=10.0.0.0/24 --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --api-audiences=https://kubernetes.default.svc \
    --feature-gates=BoundServiceAccountTokenVolume=true \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --enable-bootstrap-token-auth=true --allow-privileged=true \
    --kubelet-client-certificate="$PKI/kubelet-client.crt" --kubelet-client-key="$PKI/kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
}

up() {
  if alive kube-apiserver && $KUBECTL get --raw /readyz >/dev/null 2>&1; then
    log "control plane already running"
    return 0
  fi
  "$E2E_DIR/prepare.sh" kubernetes
  down >/dev/null 2>&1 || true
  rm -rf "$RUN"; mkdir -p "$RUN/logs" "$RUN/pids" "$RUN/etcd"
  make_pki
  start etcd etcd --name e2e --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:$((ETCD_PORT + 10)) --initial-advertise-peer-urls http://127.0.0.1:$((ETCD_PORT + 10)) \
    --initial-cluster "e2e=http://127.0.0.1:$((ETCD_PORT + 10))"
  start_apiserver
  wait_for 60 "kube-apiserver /readyz" $KUBECTL get --raw /readyz || { tail -20 "$RUN/logs/kube-apiserver.log" >&2; exit 1; }
  # What `kubectl logs` needs: the API server's kubelet client may use the nodes' kubelet API
  # (k3s binds the same role; a node asks with a SubjectAccessReview).
  $KUBECTL create clusterrolebinding kube-apiserver-kubelet-api-admin --clusterrole=system:kubelet-api-admin \
    --user=kube-apiserver-kubelet-client >/dev/null
  start kube-controller-manager "$KUBE_BIN/kube-controller-manager" --kubeconfig="$PKI/kcm.kubeconfig" \
    --authentication-kubeconfig="$PKI/kcm.kubeconfig" --authorization-kubeconfig="$PKI/kcm.kubeconfig" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --use-service-account-credentials=true --leader-elect=false --bind-address=127.0.0.1 \
    --feature-gates=BoundServiceAccountTokenVolume=true \
    --secure-port="$KCM_PORT" --port=0 --controllers='*,tokencleaner,bootstrapsigner' \
    --cluster-signing-duration="${SYSTEMK_E2E_SIGNING_DURATION:-8m}"
  start kube-scheduler "$KUBE_BIN/kube-scheduler" --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --port=0
  wait_for 60 "the default service account" $KUBECTL -n default get serviceaccount default
  log "control plane ready on https://127.0.0.1:$API_PORT (kubectl: $KUBECTL)"
}

stop_pid() {  # name : TERM, then KILL after 10 s
  local f=$RUN/pids/$1.pid pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  for node in "$RUN"/nodes/*/; do
    [[ -d $node ]] && "$E2E_DIR/node.sh" down "$(basename "$node")" || true
  done
  for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_pid "$name"; done
  log "control plane stopped"
}

node_kubeconfig() {
  local name=$1
  [[ -f $PKI/node-$name.crt ]] || cert "node-$name" "/O=system:nodes/CN=system:node:$name"
  # The kubelet API's serving certificate, signed by the cluster CA: the API server verifies
  # it (--kubelet-certificate-authority), as a kubelet's approved serving CSR would be.
  [[ -f $PKI/serving-$name.crt ]] || cert "serving-$name" "/O=system:nodes/CN=system:node:$name" "IP:127.0.0.1,DNS:$name"
  kubeconfig "node-$name" "node-$name"
  echo "$PKI/node-$name.kubeconfig"
}

# What `kubeadm init` sets up for `kubeadm join` (and `systemk join`): the cluster-info configMap
# that bootstrapsigner signs, anonymous read access to it, the bootstrap token's RBAC and the
# auto-approval of node client CSRs, first ones and renewals. Prints "TOKEN CA_HASH".
bootstrap_token() {
  local id secret hash
  id=$(openssl rand -hex 3)       # [a-f0-9] is within the token alphabet [a-z0-9]
  secret=$(openssl rand -hex 8)
  ((${#id} == 6 && ${#secret} == 16)) || { log "could not make a token"; return 1; }
  hash=$(openssl x509 -pubkey -noout -in "$PKI/ca.crt" | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
  $KUBECTL apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-info, namespace: kube-public}
data:
  kubeconfig: |
    apiVersion: v1
    kind: Config
    clusters:
    - name: ""
      cluster:
        certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
        server: https://127.0.0.1:$API_PORT
    contexts: []
    current-context: ""
    preferences: {}
    users: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: kubeadm:bootstrap-signer-clusterinfo, namespace: kube-public}
rules: [{apiGroups: [""], resources: [configmaps], resourceNames: [cluster-info], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: kubeadm:bootstrap-signer-clusterinfo, namespace: kube-public}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: kubeadm:bootstrap-signer-clusterinfo}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:anonymous}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubeadm:kubelet-bootstrap}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-bootstrapper}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:bootstrappers:kubeadm:default-node-token}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubeadm:node-autoapprove-bootstrap}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:certificates.k8s.io:certificatesigningrequests:nodeclient}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:bootstrappers:kubeadm:default-node-token}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubeadm:node-autoapprove-certificate-rotation}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}]
---
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-$id, namespace: kube-system}
type: bootstrap.kubernetes.io/token
stringData:
  token-id: "$id"
  token-secret: "$secret"
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token
YAML
  # bootstrapsigner signs cluster-info for the new token within a few seconds.
  wait_for 60 "cluster-info signed for token $id" \
    bash -c "[[ -n \$($KUBECTL -n kube-public get configmap cluster-info -o 'jsonpath={.data.jws-kubeconfig-$id}') ]]"
  echo "$id.$secret sha256:$hash"
}

restart_apiserver() {  # stop it for $1 seconds, then start it again
  stop_pid kube-apiserver
  sleep "${1:-0}"
  start_apiserver
  wait_for 60 "kube-apiserver /readyz" $KUBECTL get --raw /readyz
}

# Starts the API server unless it runs, and waits until it answers.
ensure_apiserver() {
  alive kube-apiserver || start_apiserver
  wait_for 60 "kube-apiserver /readyz" $KUBECTL get --raw /readyz
}

case "${1:-}" in
  up) up ;;
  restart-apiserver) restart_apiserver "${2:-0}" ;;
  stop-apiserver) stop_pid kube-apiserver ;;
  start-apiserver) ensure_apiserver ;;
  down) down ;;
  node-kubeconfig) node_kubeconfig "$2" ;;
  bootstrap-token) bootstrap_token ;;
  *) echo "usage: $0 up|down|restart-apiserver [SECONDS]|stop-apiserver|start-apiserver|node-kubeconfig NAME|bootstrap-token" >&2; exit 2 ;;
esac
