#!/usr/bin/env bash
# Every unit `systemk render` writes for examples/ must pass `systemd-analyze verify` with no
# output at all (no warning). Rendered against this machine's own packages.
set -euo pipefail
systemk=$1 src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pod in "$src"/examples/*.yaml; do
  "$systemk" render -f "$pod" --node-ip 192.168.1.10 --api-server https://127.0.0.1:6443 -o "$out"
done
ls "$out"/*.service >/dev/null
cd "$out"
report=$(systemd-analyze verify --man=no ./*.service 2>&1) || { echo "$report"; exit 1; }
if [[ -n $report ]]; then
  echo "systemd-analyze verify warned:"; echo "$report"; exit 1
fi
echo "verified $(ls ./*.service | wc -l) units"
