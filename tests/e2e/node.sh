#!/usr/bin/env bash
# A systemd node: Debian's systemd booted in systemd-nspawn from the cached rootfs, sharing the
# host network (so https://127.0.0.1:6443 is the API server), with the build tree at /opt/systemk.
#   node.sh up NAME [BUILD_DIR]   boot (idempotent) and wait until systemd runs; with
#                                 SYSTEMK_E2E_JOIN="TOKEN CA_HASH" the node gets no credentials
#                                 and its agent starts as `systemk join` with that token
#   node.sh down NAME             power off, then stop by PID
#   node.sh exec NAME CMD...      run a command inside the node
set -euo pipefail
source "$(dirname "$0")/common.sh"

name=${2:-}
[[ -n $name ]] || { echo "usage: $0 up|down|exec NAME ..." >&2; exit 2; }
dir=$RUN/nodes/$name
pidfile=$RUN/pids/node-$name.pid

leader() {  # the node's PID 1, as seen from the host
  local pid; pid=$(cat "$pidfile" 2>/dev/null) || return 1
  pgrep -P "$pid" | head -1
}

in_node() {
  local pid1; pid1=$(leader) || { log "node $name is not running"; return 1; }
  nsenter -t "$pid1" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= TERM=dumb "$@"
}

up() {
  local build=${1:-$SRC_DIR/build}
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  "$E2E_DIR/prepare.sh" rootfs
  rm -rf "$dir"; mkdir -p "$dir" "$RUN/pids" "$RUN/logs"
  cp -a --reflink=auto "$ROOTFS/." "$dir/rootfs"
  echo "$name" > "$dir/rootfs/etc/hostname"
  # A sanitizer build (tests/e2e/asan.sh) links its sanitizer runtimes and, built as Debug, a
  # few libraries more than the release build the node image is made for: copy this machine's,
  # the very ones it was built against, into this node's copy only (never into the cache).
  if grep -qx 'SYSTEMK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    local lib
    for lib in $(ldd "$build/bin/systemk" "$build"/lib/systemk/plugins/*.so 2>/dev/null \
                 | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
      [[ -e $dir/rootfs$lib ]] || cp -L "$lib" "$dir/rootfs$lib"
    done
  fi
  mkdir -p "$dir/rootfs/etc/systemk/pki"
  local command="run --config /etc/systemk/config.yaml" kubeconfig_line="kubeconfig: /etc/systemk/kubeconfig"
  local serving_lines=""
  if [[ -n ${SYSTEMK_E2E_JOIN:-} ]]; then
    # Nothing but a bootstrap token and the CA's hash: the node obtains its own certificate.
    local token hash; read -r token hash <<<"$SYSTEMK_E2E_JOIN"
    command="join --config /etc/systemk/config.yaml --server https://127.0.0.1:${SYSTEMK_E2E_API_PORT:-6443} --token $token --ca-cert-hash $hash"
    kubeconfig_line=""
  else
    # The node's own credentials, and nothing more; and a serving certificate from the cluster
    # CA for the kubelet API (the API server verifies it: --kubelet-certificate-authority).
    local kc; kc=$("$E2E_DIR/cluster.sh" node-kubeconfig "$name")
    cp "$RUN/pki/ca.crt" "$RUN/pki/node-$name.crt" "$RUN/pki/node-$name.key" \
      "$RUN/pki/serving-$name.crt" "$RUN/pki/serving-$name.key" "$dir/rootfs/etc/systemk/pki/"
    sed -e "s#$RUN/pki/#/etc/systemk/pki/#g" "$kc" > "$dir/rootfs/etc/systemk/kubeconfig"
    chmod 600 "$dir/rootfs/etc/systemk/pki/node-$name.key" "$dir/rootfs/etc/systemk/pki/serving-$name.key" \
      "$dir/rootfs/etc/systemk/kubeconfig"
    serving_lines="certfile: /etc/systemk/pki/serving-$name.crt
keyfile: /etc/systemk/pki/serving-$name.key"
  fi
  # systemk runs as a service of the node's systemd, with the node's credentials only. Nodes share
  # the host network, so each gets its own kubelet API port.
  local index; index=$(ls -d "$RUN"/nodes/*/ | sort | grep -n "/$name/\$" | cut -d: -f1)
  cat > "$dir/rootfs/etc/systemk/config.yaml" <<CFG
$kubeconfig_line
nodename: $name
node-ip: 127.0.0.1
addr: ":$((${SYSTEMK_E2E_KUBELET_PORT:-10250} + index - 1))"
$serving_lines
CFG
  # journald's own defaults stay: pod units raise its rate limit themselves
  # (LogRateLimitBurst=), which e2e_logs_hundred_thousand_lines shows.
  rm -f "$dir/rootfs/etc/systemd/journald.conf.d/systemk-e2e.conf"
  cat > "$dir/rootfs/etc/systemd/system/systemk.service" <<UNIT
[Unit]
Description=systemk node agent
After=dbus.service

[Service]
ExecStart=/opt/systemk/bin/systemk $command
Restart=always
RestartSec=2
# Pods are units of their own: stopping the agent must not touch them.
KillMode=process
TimeoutStopSec=5

[Install]
WantedBy=multi-user.target
UNIT
  if [[ ${SYSTEMK_E2E_AGENT:-1} == 1 ]]; then
    ln -sf /etc/systemd/system/systemk.service "$dir/rootfs/etc/systemd/system/multi-user.target.wants/systemk.service"
  fi
  setsid systemd-nspawn -D "$dir/rootfs" -b --register=no --keep-unit -M "$name" --console=pipe \
    --bind-ro="$build:/opt/systemk" > "$RUN/logs/node-$name.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local deadline=$((SECONDS + 90)) state=""
  while ((SECONDS < deadline)); do
    state=$(in_node systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
    sleep 0.5
  done
  if [[ $state != running && $state != degraded ]]; then
    log "node $name did not boot (state '$state')"; tail -20 "$RUN/logs/node-$name.log" >&2; return 1
  fi
  [[ $state == degraded ]] && in_node systemctl --failed --no-legend >&2 || true
  log "node $name is up ($state)"
}

down() {
  [[ -f $pidfile ]] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    in_node systemctl poweroff --no-block >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "node $name stopped"
}

case "$1" in
  up) up "${3:-}" ;;
  down) down ;;
  exec) shift 2; in_node "$@" ;;
  *) echo "usage: $0 up|down|exec NAME ..." >&2; exit 2 ;;
esac
