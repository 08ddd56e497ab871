#!/usr/bin/env bash
# End-to-end cases for the pod sandbox (issue 8) on a real systemd node:
#   security.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-security
source "$E2E_DIR/kube_helpers.sh"
trap 'rc=$?; ((rc == 0)) || k delete pods --all --wait=false >/dev/null 2>&1 || true' EXIT

apply() { k apply -f - >/dev/null || fail "kubectl apply"; }
unit_of() { echo "systemk.$NS.$1.$2.service"; }
output_of() { node journalctl -u "$(unit_of "$1" "$2")" -o cat --no-pager; }

# Reproduction 1: ";" as the first word made systemd start "+/bin/sh" as root with every
# capability. Now the pod is refused, and separators/prefixes in later words reach the process.
case_exec_lines() {
  setup_ns
  k delete pod semicolon literal --ignore-not-found --wait=true >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: semicolon}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  securityContext: {runAsUser: 65534, runAsNonRoot: true}
  containers:
  - name: c
    image: /bin/sh
    command: [";", "+/bin/sh", "-c", "id"]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Pod
metadata: {name: literal}
spec:
  $POD_PLACEMENT
  restartPolicy: Never
  securityContext: {runAsUser: 65534, runAsNonRoot: true}
  containers:
  - name: c
    image: /bin/sh
    command: ["/bin/sh", "-c", 'for a in "\$@"; do echo "arg:\$a"; done; echo "uid:\$(id -u)"; grep CapEff /proc/self/status', "sh"]
    args: [";", "+/bin/sh", "!x", "@y", "-z", ":w", "|v"]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
POD
  wait_until 60 "semicolon refused" '[[ $(waiting_reason semicolon) == CreateContainerConfigError ]]'
  jp pod/semicolon '{.status.containerStatuses[0].state.waiting.message}' | grep -q "command separator" || fail "message"
  wait_until 30 "an Event for semicolon" \
    '[[ $(k get events --field-selector involvedObject.name=semicolon -o "jsonpath={.items[*].reason}") == *Failed* ]]'
  node test ! -e "/run/systemd/system/$(unit_of semicolon c)" || fail "a unit was written for the refused pod"
  wait_until 60 "literal Succeeded" phase_is literal Succeeded
  # What systemd itself parsed: argv exactly as the pod gave it, no prefix honoured.
  local parsed; parsed=$(node systemctl show -p ExecStart --value "$(unit_of literal c)") || fail "systemctl show"
  [[ $parsed == *'argv[]=/bin/sh -c '*' sh ; +/bin/sh !x @y -z :w |v ;'* ]] || fail "systemd parsed: $parsed"
  local out; out=$(output_of literal c) || fail "journalctl"
  local expected=$'arg:;\narg:+/bin/sh\narg:!x\narg:@y\narg:-z\narg::w\narg:|v\nuid:65534\nCapEff:\t0000000000000000'
  [[ $(grep -E '^(arg|uid|CapEff)' <<<"$out") == "$expected" ]] || fail "process saw: $out"
  k delete pod semicolon literal --wait=false >/dev/null
  echo "first-word ';' refused; later separators and prefixes reached the process as arguments, as uid 65534 with no capabilities"
}

# Reproductions 3 and 4 plus the acceptance from a second pod: another pod (root by default, and
# a non-root one) can read no other pod's secret, token, unit file or secret env value, cannot
# reach systemd or the host's devices, and cannot remount or enter PID 1.
case_pods_are_isolated() {
  setup_ns
  k delete pod victim intruder intruder-nonroot --ignore-not-found --wait=true >/dev/null
  k create secret generic victim-secret --from-literal=password="topsecret-$((4700 + 11))" --dry-run=client -o yaml | k apply -f - >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  $POD_PLACEMENT
  securityContext: {runAsUser: 33, runAsGroup: 33, fsGroup: 33}
  volumes: [{name: creds, secret: {secretName: victim-secret, defaultMode: 0400}}]
  containers:
  - name: c
    image: /bin/sh
    command: ["/bin/sh", "-c", "test -r /creds/password && echo volume-ok; [ \"\${#PASSWORD}\" = 14 ] && echo env-ok; exec sleep 100000"]
    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: victim-secret, key: password}}}]
    volumeMounts: [{name: creds, mountPath: /creds}]
POD
  wait_until 60 "victim Running" phase_is victim Running
  wait_until 30 "victim sees its own secret" 'output_of victim c | grep -q volume-ok'
  output_of victim c | grep -q env-ok || fail "the victim did not get its secret env"
  # Search patterns below are written "topsecret-47[1]1": a command line (runuser logs its own)
  # must not itself put the secret on disk.
  local unit; unit=$(unit_of victim c)
  # Nothing of the secret is in the unit, its D-Bus properties, or any file an ordinary user reads.
  node grep -q 'topsecret-47[1]1' "/run/systemd/system/$unit" && fail "the secret is in the unit file"
  node systemctl show "$unit" | grep -q 'topsecret-47[1]1' && fail "the secret is in the unit's properties"
  [[ $(node stat -c %a "/run/systemd/system/$unit") == 600 ]] || fail "unit file mode is not 0600"
  node runuser -u nobody -- cat "/run/systemd/system/$unit" >/dev/null 2>&1 && fail "nobody reads the unit file"
  node runuser -u nobody -- sh -c "grep -rs 'topsecret-47[1]1' /run/systemk /var/lib/systemk /run/systemd/system" && fail "nobody reads the secret"
  node sh -c "grep -rls 'topsecret-47[1]1' /var/lib /etc /var/log 2>/dev/null" && fail "the secret is on persistent disk"
  local probe='
    try() { if eval "$2" >/dev/null 2>&1; then echo "LEAK:$1"; else echo "BLOCKED:$1"; fi; }
    try secret-volume "grep -rs topsecret-47[1]1 /run/systemk /var/lib/systemk | grep -q ."
    try unit-files "cat /run/systemd/system/systemk.*"
    try env-file "cat /run/systemk/pods/*/env/*"
    try proc-environ "grep -s topsecret-47[1]1 /proc/[0-9]*/environ | grep -q ."
    try agent-credentials "cat /etc/systemk/kubeconfig"
    try shadow "grep -q ^root: /etc/shadow"
    try systemd-bus "systemctl show -p Version"
    try systemd-run "systemd-run --wait /bin/true"
    try remount "mount -o remount,rw /"
    try nsenter "nsenter -t 1 -m true"
    try write-usr "touch /usr/pwned"
    try block-devices "find /dev -type b | grep -q ."
    try mknod "mknod /tmp/sda b 8 0"
    # A control: the probe can read what every pod may read, so "blocked" means something.
    grep -q ^ID= /etc/os-release && echo control-readable
    echo probe-done'
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: intruder}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  restartPolicy: Never
  containers:
  - {name: c, image: /bin/sh, command: ["/bin/sh", "-c", $(jq -Rn --arg v "$probe" '$v')]}
---
apiVersion: v1
kind: Pod
metadata: {name: intruder-nonroot}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  restartPolicy: Never
  securityContext: {runAsUser: 65534, runAsNonRoot: true}
  containers:
  - {name: c, image: /bin/sh, command: ["/bin/sh", "-c", $(jq -Rn --arg v "$probe" '$v')]}
POD
  local p out
  for p in intruder intruder-nonroot; do
    wait_until 60 "$p Succeeded" phase_is "$p" Succeeded
    out=$(output_of "$p" c) || fail "journalctl $p"
    grep -q probe-done <<<"$out" || fail "$p did not finish its probe: $out"
    grep -q control-readable <<<"$out" || fail "$p could not even read /etc/os-release: the probe proves nothing"
    if grep LEAK <<<"$out"; then fail "$p reached what it must not"; fi
    echo "$p: $(grep -c BLOCKED <<<"$out") attempts blocked"
  done
  k delete pod victim intruder intruder-nonroot --wait=false >/dev/null
}

# Reproduction 6: a misspelt capability, an impossible memory limit and an unsupported seccomp
# profile are pod errors, not silently weaker units; the agent keeps running.
case_bad_security_context() {
  setup_ns
  k delete pod typo huge long-image --ignore-not-found --wait=true >/dev/null
  local pid; pid=$(node systemctl show -p MainPID --value systemk) || fail "agent pid"
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: typo}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers:
  - name: c
    image: /bin/sleep
    command: [/bin/sleep, "1000"]
    securityContext: {capabilities: {drop: [CAP_SYS_ADMINN]}}
---
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers:
  - name: c
    image: /bin/sleep
    command: [/bin/sleep, "1000"]
    resources: {limits: {memory: "1e30"}}
POD
  # Reproduction 2: a 60 000-character image crashed the agent (regex recursion in a resolver).
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: long-image}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: c, image: $(head -c 60000 /dev/zero | tr '\0' a)}]
POD
  for p in typo huge; do
    wait_until 60 "$p refused" "[[ \$(waiting_reason $p) == CreateContainerConfigError ]]"
  done
  wait_until 60 "long-image refused" '[[ $(waiting_reason long-image) == InvalidImageName ]]'
  jp pod/typo '{.status.containerStatuses[0].state.waiting.message}' | grep -q "CAP_SYS_ADMINN" || fail "typo message"
  [[ $(node systemctl show -p MainPID --value systemk) == "$pid" ]] || fail "the agent restarted"
  k delete pod typo huge long-image --wait=false >/dev/null
  echo "capability typo and 1e30 memory refused with CreateContainerConfigError, a 60 000-byte image with InvalidImageName"
}

# Acceptance: the example pods and a packaged daemon still run under the profile.
case_default_profile_runs_examples() {
  setup_ns
  local unit; unit=$(unit_of sandboxed c)
  k delete pod sandboxed --ignore-not-found --wait=true >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: sandboxed}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: c
    image: /bin/sh
    command: ["/bin/sh", "-c", "echo hi > /data/f && cat /data/f && echo tmp > /tmp/x && exec sleep 100000"]
    volumeMounts: [{name: data, mountPath: /data}]
POD
  wait_until 60 "sandboxed Running" phase_is sandboxed Running
  wait_until 30 "the volume and /tmp writable" 'output_of sandboxed c | grep -qx hi'
  # The journal fields the unit adds match exactly this pod (kubectl logs will use them).
  local uid; uid=$(jp pod/sandboxed '{.metadata.uid}') || fail "uid"
  node journalctl "SYSTEMK_POD_UID=$uid" SYSTEMK_CONTAINER_NAME=c -o cat --no-pager | grep -qx hi \
    || fail "no journal entries with the pod's fields"
  local score; score=$(node systemd-analyze security "$unit" --no-pager | grep 'Overall exposure') || fail "systemd-analyze"
  echo "live unit: $score"
  k delete pod sandboxed --wait=false >/dev/null
}

# Acceptance: a packaged daemon still runs under the profile, writing where its own unit says
# (StateDirectory=, RuntimeDirectory=). The package is built here with dpkg-deb and installed
# in the node with dpkg, so the real pkg-apt path (dpkg database, file list, unit) is used.
case_packaged_daemon_runs() {
  setup_ns
  local pkg=systemk-e2e-daemon work; work=$(mktemp -d)
  mkdir -p "$work/DEBIAN" "$work/lib/systemd/system" "$work/usr/sbin"
  printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: e2e <e2e@example.org>\nDescription: e2e daemon\n' \
    "$pkg" > "$work/DEBIAN/control"
  cat > "$work/usr/sbin/$pkg" <<'SH'
#!/bin/sh
echo "state=$STATE_DIRECTORY runtime=$RUNTIME_DIRECTORY"
date > "$STATE_DIRECTORY/started" && echo state-writable
echo $$ > "$RUNTIME_DIRECTORY/pid" && echo runtime-writable
touch /etc/e2e-daemon-was-here 2>/dev/null && echo etc-writable
exec sleep 100000
SH
  chmod 755 "$work/usr/sbin/$pkg"
  cat > "$work/lib/systemd/system/$pkg.service" <<UNIT
[Unit]
Description=e2e packaged daemon
[Service]
ExecStart=/usr/sbin/$pkg
StateDirectory=$pkg
RuntimeDirectory=$pkg
[Install]
WantedBy=multi-user.target
UNIT
  dpkg-deb --build --root-owner-group "$work" "$work.deb" >/dev/null || fail "dpkg-deb"
  local rootfs=$RUN/nodes/$NODE/rootfs
  cp "$work.deb" "$rootfs/root/$pkg.deb" && rm -rf "$work" "$work.deb"
  node dpkg -i "/root/$pkg.deb" >/dev/null || fail "dpkg -i in the node"
  k delete pod daemon --ignore-not-found --wait=true >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: daemon}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: d, image: $pkg}]
POD
  wait_until 60 "daemon Running" phase_is daemon Running
  wait_until 30 "the daemon's output" 'output_of daemon d | grep -q runtime-writable'
  local out; out=$(output_of daemon d) || fail "journalctl"
  grep -q state-writable <<<"$out" || fail "StateDirectory not writable: $out"
  grep -q etc-writable <<<"$out" && fail "the daemon wrote to /etc"
  node test -f "/var/lib/$pkg/started" || fail "the state file is not on the host"
  k delete pod daemon --wait=true >/dev/null
  node dpkg --purge "$pkg" >/dev/null || true
  echo "packaged daemon ran from its own unit: StateDirectory and RuntimeDirectory writable, /etc not"
}

case "${1:-}" in
  exec_lines|pods_are_isolated|bad_security_context|default_profile_runs_examples|packaged_daemon_runs) "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
