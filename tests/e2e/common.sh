# Shared settings for the e2e scripts; sourced, not run.
# SYSTEMK_E2E_CACHE holds slow, reusable results (kubernetes build, node rootfs);
# SYSTEMK_E2E_RUN holds one run's state (PKI, etcd data, pids, logs).
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$E2E_DIR/../.." && pwd)
CACHE=${SYSTEMK_E2E_CACHE:-/var/cache/systemk-e2e}
RUN=${SYSTEMK_E2E_RUN:-/run/systemk-e2e}
KUBE_VERSION=1.20.2
KUBE_BIN=$CACHE/kubernetes-$KUBE_VERSION/bin
ROOTFS=$CACHE/rootfs-bookworm
KUBECTL="$KUBE_BIN/kubectl --kubeconfig=$RUN/pki/admin.kubeconfig"
# The mirror the machine already uses, so nothing outside Debian's archive is reached.
debian_mirror() {
  local uri
  uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
  [[ -n "$uri" ]] || uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | grep -m1 debian | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}
log() { echo "e2e: $*" >&2; }
