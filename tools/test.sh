#!/usr/bin/env bash
# The one test command: installs dependencies, builds, and runs every test —
# unit, golden, plugin ABI and e2e (real control plane + systemd node) in the normal build,
# then the unit tests again under ASan+UBSan, then a short libFuzzer run.
# Run as root on Debian 12 (apt-get, systemd-nspawn and debootstrap need it).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SYSTEMK_JOBS:-2}

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
tools/install-deps.sh

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

step "e2e prerequisites (cached in ${SYSTEMK_E2E_CACHE:-/var/cache/systemk-e2e})"
tests/e2e/prepare.sh all

step "build (RelWithDebInfo)"
cmake --preset default "${launcher[@]}" >/dev/null
cmake --build --preset default -j "$jobs"

step "tests: unit, render golden, plugin ABI, e2e"
ctest --preset default -j 1

step "build (ASan+UBSan)"
cmake --preset asan "${launcher[@]}" -DSYSTEMK_E2E=OFF >/dev/null
cmake --build --preset asan -j "$jobs"

step "tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$jobs"

step "fuzz smoke (libFuzzer, clang)"
cmake --preset fuzz "${launcher[@]}" -DSYSTEMK_E2E=OFF >/dev/null
# Only the fuzz target: clang 14 cannot build the agent's coroutines with coverage instrumentation.
cmake --build --preset fuzz -j "$jobs" --target unit_roundtrip_fuzz
ctest --test-dir build-fuzz -L fuzz --output-on-failure

step "all tests passed"
