#!/usr/bin/env bash
# Installs systemk into a scratch prefix, builds examples/third-party-resolver out of tree
# against the installed header only, and checks that systemk loads and uses it.
set -euo pipefail
build=$1 src=$2 cmake=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cmake" --install "$build" --prefix "$work/prefix" >/dev/null
# The example sees the installed header and nothing else of systemk.
cp -r "$src/examples/third-party-resolver" "$work/example"
"$cmake" -S "$work/example" -B "$work/example/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
"$cmake" --build "$work/example/build" >/dev/null
mkdir "$work/plugins"
cp "$work/example/build/hello-resolver.so" "$work/plugins/"
"$work/prefix/bin/systemk" plugins --plugin-dir "$work/plugins" | tee "$work/list"
grep -q '^hello-resolver	image-resolver	1.0.0	1.0	hello:WORD	' "$work/list"
out=$(printf 'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "hello:world"}]}\n' |
  "$work/prefix/bin/systemk" render -f - --plugin-dir "$work/plugins")
grep -qx 'ExecStart="/bin/echo" "world"' <<<"$out"
# The installed binary finds the installed plugins by itself.
"$work/prefix/bin/systemk" plugins | grep -q '^pkg-path'
echo "out-of-tree plugin loads and resolves"
