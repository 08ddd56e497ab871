#!/usr/bin/env bash
# A few e2e cases with the agent built under ASan+UBSan (the asan preset's build tree), on a node
# of its own next to node1; fails on any sanitizer report in the agent's journal.
#   asan.sh ASAN_BUILD_DIR
# Exits 77 (skipped) when that tree is missing or not up to date, unless
# SYSTEMK_E2E_ASAN_REQUIRED=1 (tools/test.sh), which makes that a failure.
set -euo pipefail
source "$(dirname "$0")/common.sh"
asan=${1:?usage: $0 ASAN_BUILD_DIR}
NODE=nodeasan  # sorts after node1/node2: its kubelet port does not shift theirs
node() { "$E2E_DIR/node.sh" exec "$NODE" "$@"; }
# Sanitizer reports in the agent's journal, whole (a report is longer than a journal tail).
SANITIZER='ERROR: (Address|Leak|Undefined)Sanitizer|Sanitizer has encountered a fatal error|runtime error:|SUMMARY: [A-Za-z]+Sanitizer'
sanitizer_reports() {
  node journalctl -u systemk -o cat --no-pager 2>/dev/null | awk -v re="$SANITIZER" '$0 ~ re {on = 1} on {print} /ABORTING|^SUMMARY:/ {on = 0}'
}
fail() {
  echo "FAIL: $*" >&2
  sanitizer_reports | head -150 >&2 || true
  exit 1
}
skip() {
  [[ ${SYSTEMK_E2E_ASAN_REQUIRED:-0} == 1 ]] && fail "$*"
  echo "SKIP: $*"; exit 77
}

[[ -x $asan/bin/systemk ]] || skip "no ASan build in $asan (cmake --preset asan && cmake --build --preset asan)"
grep -qx 'SYSTEMK_SANITIZE:BOOL=ON' "$asan/CMakeCache.txt" 2>/dev/null || skip "$asan is not a sanitizer build"
# Never test a half-built or stale tree (tools/test.sh builds it in the background).
pending=$(ninja -C "$asan" -n 2>&1 | tail -1) || skip "cannot check $asan: $pending"
[[ $pending == *"no work to do"* ]] || skip "$asan is not up to date: $pending"

namespaces=(e2e-asan e2e-asan-restart-refs-a e2e-asan-restart-refs-b)
cleanup() {
  local rc=$? ns
  for ns in "${namespaces[@]}"; do
    $KUBECTL -n "$ns" delete pods --all --grace-period=1 --timeout=60s >/dev/null 2>&1 \
      || $KUBECTL -n "$ns" delete pods --all --grace-period=0 --force >/dev/null 2>&1 || true
    $KUBECTL delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  done
  "$E2E_DIR/node.sh" down "$NODE" >/dev/null 2>&1 || true
  $KUBECTL delete node "$NODE" --ignore-not-found >/dev/null 2>&1 || true
  return "$rc"
}
trap cleanup EXIT

SYSTEMK_E2E_AGENT=0 "$E2E_DIR/node.sh" up "$NODE" "$asan"
# Reports go to the journal; UBSan findings abort (-fno-sanitize-recover); leaks are checked
# whenever the agent exits normally.
mkdir -p "$RUN/nodes/$NODE/rootfs/etc/systemd/system/systemk.service.d"
cat > "$RUN/nodes/$NODE/rootfs/etc/systemd/system/systemk.service.d/sanitizers.conf" <<'CONF'
[Service]
Environment=ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
CONF
node systemctl daemon-reload
node systemctl start systemk
deadline=$((SECONDS + 60))
until [[ $($KUBECTL get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; do
  ((SECONDS < deadline)) || { node journalctl -u systemk -o cat --no-pager -n 20 >&2 || true; fail "$NODE not Ready"; }
  sleep 0.5
done
log "the ASan+UBSan agent runs on $NODE"

export SYSTEMK_E2E_NODE=$NODE
for c in examples_run bad_pods_fail_alone delete_removes_units agent_kill_adopts; do
  SYSTEMK_E2E_NS=e2e-asan "$E2E_DIR/pods.sh" "$c" "$asan" || fail "pods case $c failed under ASan+UBSan"
done
SYSTEMK_E2E_NS=e2e-asan-restart "$E2E_DIR/restart.sh" references_survive_restart_and_relist "$asan" \
  || fail "restart case failed under ASan+UBSan"
SYSTEMK_E2E_NS=e2e-asan "$E2E_DIR/pods.sh" grace_period_kill "$asan" || fail "pods case grace_period_kill failed under ASan+UBSan"

# A normal exit runs the leak check.
node systemctl stop systemk
journal=$(node journalctl -u systemk -o cat --no-pager) || fail "cannot read the agent's journal"
grep -qE "$SANITIZER" <<<"$journal" && fail "the sanitizers reported errors in the agent (below)"
grep -q 'received SIGTERM, stopping' <<<"$journal" || fail "the agent did not stop normally"
echo "the ASan+UBSan agent passed the cases without a sanitizer report"
