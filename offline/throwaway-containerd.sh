# shellcheck shell=bash
# Sourced by the verify-containerd.sh scripts: a throwaway containerd (Debian's) with its own
# root, state and socket under /tmp, stopped and removed on exit (KEEP=1 keeps the directory).
# Sets T, SOCK, SNAP and a ctr() bound to it. Usage: . throwaway-containerd.sh [NAME]
if ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
  echo "==> installing Debian's containerd and runc"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd runc >/dev/null
fi

T=$(mktemp -d "/tmp/${1:-offline}-ctr.XXXXXX")
SOCK=$T/containerd.sock
CPID=
cleanup() {
  set +e
  if [ -n "$CPID" ]; then
    for t in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do ctr -a "$SOCK" -n k8s.io tasks kill -s KILL "$t"; done
    kill "$CPID"; wait "$CPID" 2>/dev/null
  fi
  grep " $T/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$SOCK.debug"
EOF
echo "==> starting a throwaway containerd ($(containerd --version | cut -d' ' -f3)) in $T"
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
CPID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.2; done
[ -S "$SOCK" ] || { cat "$T/containerd.log"; echo "containerd did not start" >&2; exit 1; }
ctr() { command ctr -a "$SOCK" -n k8s.io "$@"; }

SNAP=${SNAPSHOTTER:-overlayfs}
plugins=$(ctr plugins ls 2>/dev/null || true) # (no `ctr | grep -q`: with pipefail, an early grep exit fails the pipe)
grep -q "io.containerd.snapshotter.v1 *$SNAP .*ok" <<<"$plugins" || SNAP=native
echo "==> snapshotter: $SNAP"
