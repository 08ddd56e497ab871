#!/usr/bin/env bash
# End-to-end cases for images that are packages (issue 10) on a real systemd node, installed
# through pkg-apt (libapt-pkg) from the Debian archive the node uses and from a local
# repository built here:
#   packages.sh CASE BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
NODE=${SYSTEMK_E2E_NODE:-node1}
NS=e2e-packages
source "$E2E_DIR/kube_helpers.sh"
trap 'rc=$?; ((rc == 0)) || k delete pods --all --wait=false >/dev/null 2>&1 || true' EXIT

apply() { k apply -f - >/dev/null || fail "kubectl apply"; }
unit_of() { echo "systemk.$NS.$1.$2.service"; }
waiting_message() { jp "pod/$1" '{.status.containerStatuses[0].state.waiting.message}' 2>/dev/null; }
events_of() { k get events --field-selector "involvedObject.name=$1" -o 'jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}'; }
lease_time() { $KUBECTL -n kube-node-lease get lease "$NODE" -o 'jsonpath={.spec.renewTime}'; }
# The Lease's renewTime differs from $1 (an unreadable Lease has not moved).
lease_moved_from() { local t; t=$(lease_time 2>/dev/null) || return 1; [[ -n $t && $t != "$1" ]]; }
installed_version() { node dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'; }

REPO=/srv/systemk-e2e-repo
# A local apt repository (a flat Packages file) inside the node, with packages built here:
#   systemk-e2e-slow: its postinst waits until the test creates /run/systemk-e2e-slow-go, so
#   the install stays in progress exactly as long as the test needs; its maintainer scripts
#   try to start its daemon the way debhelper's do (deb-systemd-invoke).
build_repo() {
  local rootfs=$RUN/nodes/$NODE/rootfs work; work=$(mktemp -d)
  [[ -f $rootfs$REPO/Packages ]] && return 0
  local pkg=systemk-e2e-slow; local d=$work/$pkg
  mkdir -p "$d/DEBIAN" "$d/lib/systemd/system" "$d/usr/sbin" "$d/var/lib/$pkg"
  printf 'Package: %s\nVersion: 1.0-1\nArchitecture: all\nMaintainer: e2e <e2e@example.org>\nDepends: init-system-helpers\nDescription: e2e slow daemon\n' \
    "$pkg" > "$d/DEBIAN/control"
  cat > "$d/DEBIAN/postinst" <<SH
#!/bin/sh
set -e
touch /run/$pkg-installing
i=0
while [ ! -e /run/$pkg-go ] && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i + 1)); done
deb-systemd-helper enable $pkg.service >/dev/null || true
deb-systemd-invoke start $pkg.service
SH
  chmod 755 "$d/DEBIAN/postinst"
  cat > "$d/usr/sbin/$pkg" <<'SH'
#!/bin/sh
echo "greeting=$GREETING cwd=$(pwd) user=$(id -un)"
exec sleep 100000
SH
  chmod 755 "$d/usr/sbin/$pkg"
  cat > "$d/lib/systemd/system/$pkg.service" <<UNIT
[Unit]
Description=e2e slow daemon
[Service]
ExecStart=/usr/sbin/$pkg
Environment=GREETING=from-the-package
WorkingDirectory=/var/lib/$pkg
User=nobody
[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$work/repo"
  dpkg-deb --build --root-owner-group "$d" "$work/repo/${pkg}_1.0-1_all.deb" >/dev/null || fail "dpkg-deb"
  (cd "$work/repo" && dpkg-scanpackages --multiversion . > Packages 2>/dev/null) || fail "dpkg-scanpackages"
  mkdir -p "$rootfs$REPO"
  cp "$work/repo/"* "$rootfs$REPO/"
  # Added last: pkg-apt refreshes its lists when the sources change.
  echo "deb [trusted=yes] file:$REPO ./" > "$rootfs/etc/apt/sources.list.d/systemk-e2e.list"
  rm -rf "$work"
}

# Acceptance: `image: uptimed` with no command installs Debian's uptimed through libapt-pkg and
# runs its daemon from its own unit (ExecStart, User=daemon); the package's own unit is masked
# and never started; Events say Pulling, then Pulled with the version.
case_apt_installs_uptimed() {
  setup_ns
  k delete pod uptimed --ignore-not-found --wait=true >/dev/null
  [[ -z $(installed_version uptimed) ]] || fail "uptimed is already installed in the node: the case proves nothing"
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: uptimed}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: u, image: uptimed}]
POD
  wait_until 240 "uptimed Running" phase_is uptimed Running
  local version; version=$(installed_version uptimed)
  [[ -n $version ]] || fail "uptimed is not installed in the node"
  local enabled; enabled=$(node systemctl is-enabled uptimed.service 2>&1 || true)
  [[ $enabled == masked ]] || fail "the package's own unit is not masked: '$enabled'"
  unit_inactive uptimed.service || fail "the package's own uptimed.service runs"
  node test ! -e /usr/sbin/policy-rc.d || fail "policy-rc.d was left behind"
  local unit; unit=$(unit_of uptimed u)
  local exec; exec=$(unit_property "$unit" ExecStart) || fail "ExecStart"
  [[ $exec == *'path=/usr/sbin/uptimed ; argv[]=/usr/sbin/uptimed -f ;'* ]] || fail "not uptimed's command: $exec"
  local user; user=$(unit_property "$unit" User) || fail "User"
  [[ $user == daemon ]] || fail "the package unit's User= was not kept: '$user'"
  local pid; pid=$(main_pid "$unit") || fail "no uptimed process"
  node ps -o user=,args= -p "$pid" | grep -q '^daemon .*uptimed' || fail "uptimed does not run as daemon: $(node ps -o user=,args= -p "$pid")"
  # Its own spool (a directory the package ships) is writable under the sandbox.
  wait_until 60 "uptimed's records" node test -s /var/spool/uptimed/records
  local events; events=$(events_of uptimed) || fail "kubectl get events"
  grep -q "^Pulling: " <<<"$events" || fail "no Pulling event: $events"
  grep -q "^Pulled: .*uptimed $version" <<<"$events" || fail "no Pulled event naming version $version: $events"
  k delete pod uptimed --wait=true >/dev/null
  echo "uptimed $version installed by systemk, its own unit masked, run as a pod as user daemon"
}

# Acceptance: `image: prometheus-node-exporter` (a package with its own user, an
# EnvironmentFile= and a data directory) runs from its own unit, and its metrics port answers.
case_node_exporter_answers() {
  setup_ns
  k delete pod exporter --ignore-not-found --wait=true >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: exporter}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: e, image: prometheus-node-exporter}]
POD
  wait_until 300 "exporter Running" phase_is exporter Running
  local user; user=$(unit_property "$(unit_of exporter e)" User) || fail "User"
  [[ $user == prometheus ]] || fail "the package unit's User= was not kept: '$user'"
  unit_inactive prometheus-node-exporter.service || fail "the package's own unit runs"
  # The node shares the host's network.
  wait_until 60 "metrics on :9100" 'curl -fsS http://127.0.0.1:9100/metrics 2>/dev/null | grep -q "^node_exporter_build_info"'
  k delete pod exporter --wait=true >/dev/null
  echo "prometheus-node-exporter $(installed_version prometheus-node-exporter) answered on :9100 as user prometheus"
}

# Acceptance: a pinned version that does not exist fails clearly, and nothing is installed.
case_pinned_unknown_version() {
  setup_ns
  k delete pod pinned --ignore-not-found --wait=true >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: p, image: "hello:0.0.0", command: [/usr/bin/hello]}]
POD
  wait_until 120 "pinned refused" '[[ $(waiting_reason pinned) == ErrImagePull || $(waiting_reason pinned) == ImagePullBackOff ]]'
  local msg; msg=$(waiting_message pinned) || fail "kubectl get"
  [[ $msg == *"package hello has no version 0.0.0 (available: "* ]] || fail "message: $msg"
  local events; events=$(events_of pinned) || fail "kubectl get events"
  grep -q "has no version 0.0.0" <<<"$events" || fail "no Event with the error: $events"
  [[ -z $(installed_version hello) ]] || fail "hello got installed"
  k delete pod pinned --wait=false >/dev/null
  echo "hello:0.0.0 refused: $msg"
}

# Acceptance: an installed package named as the image, with a command, runs that command
# (nothing installed, the package's own unit, if any, left alone).
case_installed_package_with_command() {
  setup_ns
  k delete pod with-bash --ignore-not-found --wait=true >/dev/null
  local version; version=$(installed_version bash)
  [[ -n $version ]] || fail "bash is not installed in the node"
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: with-bash}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: sh, image: bash, command: [bash, -c, 'echo "hello from \$BASH_VERSION"; exec sleep 3600']}]
POD
  wait_until 60 "with-bash Running" "phase_is with-bash Running"
  wait_until 20 "its output" "node journalctl -u $(unit_of with-bash sh) -o cat --no-pager | grep -q '^hello from '"
  [[ $(installed_version bash) == "$version" ]] || fail "bash changed"
  k delete pod with-bash --wait=false >/dev/null
}

# Acceptance: while a package installs, the container waits in ContainerCreating with a
# message, and another pod starts and runs, even with a second pod waiting for the same
# package (two pulls once held both of the agent's prepare threads). The install then completes, the daemon's start by
# its maintainer script was refused (policy-rc.d), and the pod runs with its unit's settings.
case_slow_install_does_not_block() {
  setup_ns
  build_repo
  local pkg=systemk-e2e-slow
  k delete pod slow slow2 quick --ignore-not-found --wait=true >/dev/null
  node rm -f /run/$pkg-go /run/$pkg-installing
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: s, image: $pkg, env: [{name: FROM_POD, value: "yes"}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: slow2}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: s, image: $pkg}]
POD
  wait_until 180 "the slow package's postinst" node test -e /run/$pkg-installing
  wait_until 60 "slow2 waiting for its pull" '[[ $(waiting_reason slow2) == ContainerCreating ]]'
  [[ $(waiting_reason slow) == ContainerCreating ]] || fail "slow is not ContainerCreating: $(waiting_reason slow)"
  [[ $(waiting_message slow) == *"$pkg"* ]] || fail "no message while installing: '$(waiting_message slow)'"
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: quick}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: q, image: /bin/sleep, args: ["100000"]}]
POD
  wait_until 60 "quick Running while the install runs" phase_is quick Running
  # The node's Lease keeps renewing while the install holds.
  local lease; lease=$(lease_time) || fail "cannot read the node's Lease"
  [[ -n $lease ]] || fail "the node has no Lease"
  wait_until 90 "a Lease renewal during the install" lease_moved_from "$lease"
  node test ! -e /run/$pkg-go || fail "the install was released early"
  [[ $(waiting_reason slow) == ContainerCreating ]] || fail "slow left ContainerCreating before its install ended"
  node touch /run/$pkg-go
  wait_until 120 "slow Running" phase_is slow Running
  wait_until 120 "slow2 Running" phase_is slow2 Running
  unit_inactive $pkg.service || fail "the maintainer script started the package's own unit"
  local enabled; enabled=$(node systemctl is-enabled $pkg.service 2>&1 || true)
  [[ $enabled == masked ]] || fail "$pkg.service is not masked: '$enabled'"
  wait_until 30 "the daemon's output" "node journalctl -u $(unit_of slow s) -o cat --no-pager | grep -q greeting="
  local out; out=$(node journalctl -u "$(unit_of slow s)" -o cat --no-pager) || fail "journalctl"
  grep -q "greeting=from-the-package cwd=/var/lib/$pkg user=nobody" <<<"$out" || fail "the unit's settings were not kept: $out"
  k delete pod slow slow2 quick --wait=true >/dev/null
  echo "quick ran while $pkg installed; then $pkg ran with its unit's Environment, WorkingDirectory and User"
}

# Acceptance: a bogus package name yields ErrImagePull, then ImagePullBackOff, with an Event
# naming the error; fixing the image (an installed package, with a command) recovers the pod.
case_bogus_name_recovers() {
  setup_ns
  k delete pod bogus --ignore-not-found --wait=true >/dev/null
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: bogus}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: b, image: no-such-package-systemk, command: [/bin/sleep, "100000"]}]
POD
  wait_until 120 "ErrImagePull" '[[ $(waiting_reason bogus) == ErrImagePull || $(waiting_reason bogus) == ImagePullBackOff ]]'
  [[ $(waiting_message bogus) == *"package no-such-package-systemk is not known to apt"* ]] || fail "message: $(waiting_message bogus)"
  wait_until 120 "ImagePullBackOff" '[[ $(waiting_reason bogus) == ImagePullBackOff ]]'
  local events; events=$(events_of bogus) || fail "kubectl get events"
  grep -q "not known to apt" <<<"$events" || fail "no Event with the error: $events"
  phase_is bogus Pending || fail "bogus is not Pending"
  k patch pod bogus --type=json -p '[{"op": "replace", "path": "/spec/containers/0/image", "value": "coreutils"}]' >/dev/null \
    || fail "kubectl patch"
  wait_until 120 "bogus Running once fixed" phase_is bogus Running
  k delete pod bogus --wait=true >/dev/null
  echo "a bogus name went ErrImagePull -> ImagePullBackOff, and the fixed image ran"
}

# Acceptance: an https .deb served by a local HTTPS server with a test CA (systemk trusts it
# through systemk.fetch-ca-file) installs and runs; a wrong #sha256= is refused before anything
# is installed.
case_url_deb_installs() {
  setup_ns
  local rootfs=$RUN/nodes/$NODE/rootfs pkg=systemk-e2e-url port=$((SYSTEMK_E2E_API_PORT + 7)) work
  work=$(mktemp -d)
  (cd "$work" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=e2e-ca -days 1 \
     && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost \
     && printf 'subjectAltName=IP:127.0.0.1\n' > ext \
     && openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out srv.crt) \
    >/dev/null 2>&1 || fail "openssl"
  local d=$work/$pkg
  mkdir -p "$d/DEBIAN" "$d/lib/systemd/system" "$d/usr/sbin" "$work/www"
  printf 'Package: %s\nVersion: 1.0-1\nArchitecture: all\nMaintainer: e2e <e2e@example.org>\nDescription: e2e url daemon\n' \
    "$pkg" > "$d/DEBIAN/control"
  printf '#!/bin/sh\necho "url-daemon-ran as $(id -un)"\nexec sleep 100000\n' > "$d/usr/sbin/$pkg"
  chmod 755 "$d/usr/sbin/$pkg"
  printf '[Service]\nExecStart=/usr/sbin/%s\nUser=nobody\n[Install]\nWantedBy=multi-user.target\n' "$pkg" \
    > "$d/lib/systemd/system/$pkg.service"
  local deb=${pkg}_1.0-1_all.deb
  dpkg-deb --build --root-owner-group "$d" "$work/www/$deb" >/dev/null || fail "dpkg-deb"
  local sha; sha=$(sha256sum "$work/www/$deb" | cut -d' ' -f1)
  # The node shares the host's network: a server here is https://127.0.0.1:$port there.
  (cd "$work/www" && exec openssl s_server -quiet -accept "127.0.0.1:$port" -cert ../srv.crt -key ../srv.key -WWW) \
    >/dev/null 2>&1 < /dev/null &
  local server=$!
  local config=$rootfs/etc/systemk/config.yaml
  cp "$config" "$work/config.yaml.orig"
  trap "kill $server 2>/dev/null; cp '$work/config.yaml.orig' '$config'; '$E2E_DIR/node.sh' exec '$NODE' systemctl restart systemk; \
        k delete pods --all --wait=false >/dev/null 2>&1; rm -rf '$work'" EXIT
  wait_until 30 "the https server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
  cp "$work/ca.crt" "$rootfs/etc/systemk/e2e-ca.crt"
  echo "plugin-option: [systemk.fetch-ca-file=/etc/systemk/e2e-ca.crt]" >> "$config"
  node systemctl restart systemk || fail "restarting systemk"
  local url=https://127.0.0.1:$port/$deb
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: wrongpin}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: w, image: "$url#sha256=$(printf '0%.0s' {1..64})"}]
POD
  wait_until 120 "wrongpin refused" '[[ $(waiting_reason wrongpin) == ErrImagePull || $(waiting_reason wrongpin) == ImagePullBackOff ]]'
  [[ $(waiting_message wrongpin) == *"not the pinned 0000"*"nothing was installed"* ]] || fail "message: $(waiting_message wrongpin)"
  [[ -z $(installed_version $pkg) ]] || fail "$pkg got installed despite the wrong pin"
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: urlpin}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: u, image: "$url#sha256=$sha"}]
POD
  wait_until 120 "urlpin Running" phase_is urlpin Running
  [[ $(installed_version $pkg) == 1.0-1 ]] || fail "$pkg is not installed: '$(installed_version $pkg)'"
  local enabled; enabled=$(node systemctl is-enabled $pkg.service 2>&1 || true)
  [[ $enabled == masked ]] || fail "$pkg.service is not masked: '$enabled'"
  wait_until 30 "the daemon's output" "node journalctl -u $(unit_of urlpin u) -o cat --no-pager | grep -q 'url-daemon-ran as nobody'"
  k delete pod wrongpin urlpin --wait=true >/dev/null
  echo "$deb from https with its sha256 pin installed and ran; a wrong pin was refused and installed nothing"
}

# Acceptance (the agent's memory, issue 9): the package plugins map libapt-pkg, librpm and
# libalpm only when a pod needs one. A freshly started agent running a pod whose image is a
# path has none of them (nor their backends) mapped; a pod whose image is an installed Debian
# package loads the apt backend, and librpm and libalpm stay out (this Debian node has neither
# an rpmdb nor pacman's database, so their claims never need them).
agent_maps() {
  local pid; pid=$(node systemctl show -p MainPID --value systemk) || return 1
  [[ $pid =~ ^[1-9][0-9]*$ ]] || return 1
  node cat "/proc/$pid/maps"
}
# Images of the pods on this node that are not paths (one a line): pods the agent would resolve
# through a package plugin when it starts.
package_images_on_node() {
  local images
  images=$($KUBECTL get pods -A --field-selector "spec.nodeName=$NODE" \
             -o 'jsonpath={range .items[*]}{range .spec.initContainers[*]}{.image}{"\n"}{end}{range .spec.containers[*]}{.image}{"\n"}{end}{end}') || return 1
  grep -v '^/' <<<"$images" | grep . || true
}
case_backends_load_on_first_use() {
  setup_ns
  k delete pods --all --wait=true >/dev/null || fail "deleting the namespace's pods"
  local left; left=$(package_images_on_node) || fail "cannot list the node's pods"
  [[ -z $left ]] || wait_until 120 "no package pod on $NODE" '[[ -z $(package_images_on_node || echo probe-failed) ]]'
  node systemctl restart systemk || fail "restarting systemk"
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: lazy-path}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: s, image: /bin/sleep, args: ["3600"]}]
POD
  wait_until 60 "lazy-path Running" phase_is lazy-path Running
  local maps lib; maps=$(agent_maps) || fail "cannot read the agent's /proc/PID/maps"
  grep -q '/plugins/pkg-apt\.so$' <<<"$maps" || fail "pkg-apt's front is not loaded: the probe sees no plugin"
  for lib in libsystemk-apt-backend libsystemk-rpm-backend libsystemk-alpm-backend libapt-pkg librpm libalpm; do
    if grep -q "$lib" <<<"$maps"; then fail "$lib is mapped although no pod needed it"; fi
  done
  apply <<POD
apiVersion: v1
kind: Pod
metadata: {name: lazy-pkg}
spec:
  $POD_PLACEMENT
  automountServiceAccountToken: false
  containers: [{name: s, image: bash, command: [sleep, "3600"]}]
POD
  wait_until 60 "lazy-pkg Running" phase_is lazy-pkg Running
  maps=$(agent_maps) || fail "cannot read the agent's /proc/PID/maps"
  grep -q '/plugins/backends/libsystemk-apt-backend\.so$' <<<"$maps" || fail "the apt backend is not loaded after a package pod"
  grep -q 'libapt-pkg' <<<"$maps" || fail "libapt-pkg is not loaded after a package pod"
  for lib in libsystemk-rpm-backend libsystemk-alpm-backend librpm libalpm; do
    if grep -q "$lib" <<<"$maps"; then fail "$lib is mapped on a Debian node"; fi
  done
  local rss; rss=$(node awk '/VmRSS/ {print $2}' "/proc/$(node systemctl show -p MainPID --value systemk)/status") || fail "cannot read the agent's RSS"
  k delete pod lazy-path lazy-pkg --wait=true >/dev/null
  echo "measured: agent RSS ${rss} KiB with the apt backend loaded; before the package pod no package library was mapped"
}

case "${1:-}" in
  apt_installs_uptimed|installed_package_with_command|pinned_unknown_version|slow_install_does_not_block|bogus_name_recovers|url_deb_installs|node_exporter_answers|backends_load_on_first_use) "case_$1" ;;
  *) echo "usage: $0 CASE [BUILD_DIR]" >&2; exit 2 ;;
esac
