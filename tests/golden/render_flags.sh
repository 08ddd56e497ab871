# The fixed flags golden renders use, so output does not depend on the machine. Sourced.
golden_flags() {
  local src=$1
  echo --nodename node1 --node-ip 192.168.1.10 --node-external-ip 203.0.113.7 \
    --api-server https://127.0.0.1:6443 \
    --plugin-option "pkg-apt.admindir=$src/tests/fixtures/dpkg" \
    --plugin-option "pkg-apt.root=$src/tests/fixtures/root"
}
