#!/usr/bin/env bash
# Compares `systemk render` over examples/ with tests/golden/expected/ and fails on any
# difference. To accept new output on purpose, run tools/update-golden.sh and review the diff.
set -euo pipefail
systemk=$1 src=$2
source "$src/tests/golden/render_flags.sh"
status=0
for pod in "$src"/examples/*.yaml; do
  name=$(basename "$pod" .yaml)
  expected=$src/tests/golden/expected/$name.units
  [[ -f $expected ]] || { echo "no golden file $expected for examples/$name.yaml (tools/update-golden.sh writes it)" >&2; status=1; continue; }
  # shellcheck disable=SC2046
  actual=$("$systemk" render -f "$pod" $(golden_flags "$src"))
  if ! diff -u "$expected" <(printf '%s\n' "$actual"); then
    echo "render of examples/$name.yaml differs from $expected" >&2
    status=1
  fi
done
exit $status
