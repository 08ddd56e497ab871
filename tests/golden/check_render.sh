#!/usr/bin/env bash
# Compares `systemk render` over examples/ with tests/golden/expected/.
# UPDATE_GOLDEN=1 rewrites the expected files instead.
set -euo pipefail
systemk=$1 src=$2
source "$src/tests/golden/render_flags.sh"
status=0
for pod in "$src"/examples/*.yaml; do
  name=$(basename "$pod" .yaml)
  expected=$src/tests/golden/expected/$name.units
  # shellcheck disable=SC2046
  actual=$("$systemk" render -f "$pod" $(golden_flags "$src"))
  if [[ ${UPDATE_GOLDEN:-} == 1 ]]; then
    printf '%s\n' "$actual" > "$expected"
  elif ! diff -u "$expected" <(printf '%s\n' "$actual"); then
    echo "render of examples/$name.yaml differs from $expected" >&2
    status=1
  fi
done
exit $status
