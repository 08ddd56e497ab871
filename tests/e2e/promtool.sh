#!/usr/bin/env bash
# Prints the absolute path of a promtool binary, for e2e checks of Prometheus text
# (`promtool check metrics`). Taken from Debian's prometheus package without installing it:
# installing would start Prometheus and pull in node-exporter, which binds :9100 on the host
# network the e2e nodes share. The binary is unpacked once into $CACHE/promtool-<version>/.
#   promtool.sh            -> /var/cache/systemk-e2e/promtool-<version>/usr/bin/promtool
# Exits non-zero with a message on stderr when it cannot.
set -euo pipefail
source "$(dirname "$0")/common.sh"

die() { echo "promtool.sh: $*" >&2; exit 1; }

version=$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: //p')
[[ -n $version && $version != "(none)" ]] || die "apt knows no prometheus package (run apt-get update?)"
dir=$CACHE/promtool-$version
bin=$dir/usr/bin/promtool
if [[ ! -x $bin ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"  # apt's download user writes there
  (cd "$tmp" && apt-get download -q "prometheus=$version" >&2) || die "apt-get download prometheus=$version failed"
  deb=$(ls "$tmp"/prometheus_*.deb 2>/dev/null | head -1)
  [[ -n $deb ]] || die "apt-get download left no prometheus .deb"
  dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
  [[ -x $tmp/root/usr/bin/promtool ]] || die "the prometheus package has no usr/bin/promtool"
  # Only promtool (and its copyright) is kept, assembled beside the final place and renamed
  # there: a concurrent or interrupted run never sees half a tree.
  mkdir -p "$CACHE"
  staging=$(mktemp -d "$CACHE/.promtool-XXXXXX")
  install -D -m 755 "$tmp/root/usr/bin/promtool" "$staging/usr/bin/promtool"
  if [[ -f $tmp/root/usr/share/doc/prometheus/copyright ]]; then
    install -D -m 644 "$tmp/root/usr/share/doc/prometheus/copyright" "$staging/usr/share/doc/prometheus/copyright"
  fi
  chmod 755 "$staging"
  mv -T "$staging" "$dir" 2>/dev/null || rm -rf "$staging"  # another run got there first
  [[ -x $bin ]] || die "promtool not found in $dir"
fi
"$bin" --version >/dev/null 2>&1 || die "$bin does not run"
echo "$bin"
