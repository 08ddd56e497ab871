#!/usr/bin/env bash
# Rewrites tests/golden/expected/ from `systemk render` over examples/. The golden test itself
# never writes: run this on purpose, then review and commit the diff.
#   tools/update-golden.sh [BUILD_DIR]   (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
systemk=$build/bin/systemk
[[ -x $systemk ]] || { echo "no $systemk: build first (cmake --build --preset default)" >&2; exit 1; }
source "$src/tests/golden/render_flags.sh"
for pod in "$src"/examples/*.yaml; do
  name=$(basename "$pod" .yaml)
  # shellcheck disable=SC2046
  actual=$("$systemk" render -f "$pod" $(golden_flags "$src"))
  printf '%s\n' "$actual" > "$src/tests/golden/expected/$name.units.tmp"
  mv "$src/tests/golden/expected/$name.units.tmp" "$src/tests/golden/expected/$name.units"
done
git -C "$src" --no-pager diff --stat -- tests/golden/expected || true
