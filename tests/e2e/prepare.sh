#!/usr/bin/env bash
# Builds (once) what the e2e suite needs and caches it outside the checkout:
# kube-apiserver/controller-manager/scheduler/kubectl v1.20.2 from Debian's source package,
# and a debootstrap'ed Debian rootfs for systemd-nspawn nodes.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock 9

build_kubernetes() {
  [[ -x $KUBE_BIN/kube-apiserver && -x $KUBE_BIN/kubectl && -x $KUBE_BIN/kube-scheduler \
     && -x $KUBE_BIN/kube-controller-manager ]] && return 0
  log "building kubernetes $KUBE_VERSION from Debian's source package (about 5-10 minutes)"
  local src=/etc/apt/sources.list.d/systemk-e2e-src.sources
  if [[ ! -f $src ]]; then
    printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$(debian_mirror)" > "$src"
    apt-get update -qq
  fi
  local work=$CACHE/kubernetes-src
  mkdir -p "$work"
  if ! ls "$work"/kubernetes_"$KUBE_VERSION"*.orig.tar.gz >/dev/null 2>&1; then
    (cd "$work" && apt-get source --download-only -qq "kubernetes=$KUBE_VERSION*" >/dev/null 2>&1 \
       || apt-get source --download-only -qq kubernetes >/dev/null)
  fi
  local tree=$work/kubernetes-$KUBE_VERSION
  if [[ ! -d $tree/cmd ]]; then
    rm -rf "$tree"; mkdir -p "$tree"
    tar -xzf "$(ls "$work"/kubernetes_*.orig.tar.gz | head -1)" -C "$tree" --strip-components=1
  fi
  # reflect2 1.0.1 breaks the API server under Go >= 1.18 on JSON requests with maps.
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -a /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$tree/.go/src/k8s.io" && ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
  local gohome; gohome=$(mktemp -d)
  (cd "$tree" && GOPATH=$tree/.go PATH=/usr/lib/go-1.19/bin:$PATH CGO_ENABLED=0 HOME=$gohome \
     GOFLAGS=-mod=vendor GO111MODULE=off \
     make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl" \
     > "$CACHE/kubernetes-build.log" 2>&1) || { tail -30 "$CACHE/kubernetes-build.log" >&2; exit 1; }
  rm -rf "$gohome"
  mkdir -p "$KUBE_BIN"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    cp "$tree/_output/bin/$b" "$KUBE_BIN/$b"
  done
  # The build tree is large; the binaries are what we keep.
  rm -rf "$tree"
}

# Runtime libraries systemk links against, installed in the node image.
NODE_PKGS="systemd,dbus,systemd-sysv,iproute2,ca-certificates,procps,libsystemd0,libssl3,libspdlog1.10,libfmt9,libyaml-cpp0.7,libboost-json1.81.0,libboost-filesystem1.81.0,librpm9,libalpm13"
build_rootfs() {
  local want="v2 $NODE_PKGS"
  [[ -f $ROOTFS/.systemk-stamp && "$(cat "$ROOTFS/.systemk-stamp")" == "$want" ]] && return 0
  log "debootstrapping the node rootfs (about 2-3 minutes)"
  rm -rf "$ROOTFS.tmp"
  debootstrap --variant=minbase --include="$NODE_PKGS" bookworm "$ROOTFS.tmp" "$(debian_mirror)" \
    > "$CACHE/debootstrap.log" 2>&1 || { tail -30 "$CACHE/debootstrap.log" >&2; exit 1; }
  # Quiet, fast boots: no getty, no network management (the node shares the host network).
  chroot "$ROOTFS.tmp" systemctl mask console-getty.service getty@.service systemd-networkd.service \
    systemd-resolved.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
  chroot "$ROOTFS.tmp" apt-get clean
  echo "$want" > "$ROOTFS.tmp/.systemk-stamp"
  rm -rf "$ROOTFS"; mv "$ROOTFS.tmp" "$ROOTFS"
}

case "${1:-all}" in
  kubernetes) build_kubernetes ;;
  rootfs) build_rootfs ;;
  all) build_kubernetes; build_rootfs ;;
esac
