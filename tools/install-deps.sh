#!/usr/bin/env bash
# Installs every Debian 12 package systemk needs to build, test and run its e2e suite.
# Idempotent: when everything is present it returns without touching apt.
set -euo pipefail

build_pkgs=(
  cmake ninja-build g++ clang libclang-rt-14-dev pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev
  libsystemd-dev libspdlog-dev libfmt-dev libssl-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev systemd dbus libapt-pkg-dev
  librpm-dev libalpm-dev libarchive-dev
)
# The pkg-rpm and pkg-pacman plugin tests build tiny packages: rpmbuild, and makepkg run as
# nobody (setpriv) with fakeroot and bsdtar.
test_pkgs=(rpm makepkg pacman-package-manager fakeroot libarchive-tools util-linux)
e2e_pkgs=(
  golang-1.19-go etcd-server rsync jq openssl make golang-github-modern-go-reflect2-dev
  systemd-container debootstrap dpkg-dev iproute2 procps
)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
[[ "${1:-}" == "--build-only" ]] || want+=("${e2e_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
