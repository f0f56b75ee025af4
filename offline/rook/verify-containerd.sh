#!/usr/bin/env bash
# verify-containerd.sh [DIR] — check an offline Rook build (offline/build-rook.sh) against a
# real containerd: start a throwaway containerd (offline/throwaway-containerd.sh), `ctr -n k8s.io
# images import` every images/*.tar, check that each image of artifacts.json and the operator image of
# manifests/operator.yaml is there under its name, then run each once: the Ceph daemons' and tools'
# versions, ceph-volume, the ceph user's uid, rook version and its image's files and user, and each
# CSI sidecar's --version. Needs root and Debian's containerd.
#
#   bash offline/rook/verify-containerd.sh [~/.cache/homelab/offline/rook-v1.17.8]
# Env: SNAPSHOTTER (default overlayfs, falls back to native), KEEP=1 keeps the temp dir.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$HERE/versions.env"
DIR=${1:-${HOMELAB_OFFLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/offline}/rook-$ROOK_VERSION}
[ -s "$DIR/artifacts.json" ] || { echo "no artifacts.json in $DIR: run offline/build-rook.sh first" >&2; exit 1; }
(cd "$DIR" && sha256sum --quiet -c SHA256SUMS) || { echo "SHA256SUMS does not match in $DIR" >&2; exit 1; }
echo "==> SHA256SUMS ok"
# shellcheck source-path=SCRIPTDIR source=../throwaway-containerd.sh
. "$(dirname "${BASH_SOURCE[0]}")/../throwaway-containerd.sh" offline-rook

for f in "$DIR"/images/*.tar; do
  echo "==> ctr -n k8s.io images import $(basename "$f")"
  ctr images import --snapshotter "$SNAP" "$f"
done
echo "==> ctr -n k8s.io images ls"
ctr images ls | awk '{print $1, $3, $4, $5, $6}' | column -t
fail=0
refs=$( { sed -n 's/.*{"ref": "\([^"]*\)", "file".*/\1/p' "$DIR/artifacts.json"
          sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\} *$/\1/p' "$DIR/manifests/operator.yaml"; } | sort -u)
listed=$(ctr images ls -q)
for ref in $refs; do
  if grep -qx "$ref" <<<"$listed"; then echo "ok   $ref"; else echo "MISSING $ref"; fail=1; fi
done

n=0
run() { # run [ctr run options...] -- <image ref> <command...>: run once, print the start of its output
  local out rc=0 opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
  n=$((n + 1))
  echo "--- $1: ${*:2}"
  out=$(ctr run --rm --snapshotter "$SNAP" "${opts[@]}" "$1" "verify-$n" "${@:2}" 2>&1 </dev/null) || rc=$?
  printf '%s\n' "$out" | head -"${LINES_SHOWN:-6}"
  [ "$rc" = 0 ] || { echo "FAILED (exit $rc)"; fail=1; }
}
C=$CEPH_IMAGE R=$ROOK_IMAGE
echo "==> running commands in the images"
run -- "$C" ceph --version
# shellcheck disable=SC2016 # $d is the inner shell's
run -- "$C" sh -c 'for d in ceph-mon ceph-mgr ceph-osd ceph-mds; do $d --version; done'
run -- "$C" ceph-fuse --version
LINES_SHOWN=4 run -- "$C" ceph-volume --help
run -- "$C" sh -c 'ceph-volume raw list 2>&1 | tail -2; ceph-volume inventory --help >/dev/null && echo "ceph-volume inventory: ok"'
# (ctr mounts a tmpfs on /run; the image's /run/ceph is checked in the snapshot below)
run -- "$C" sh -c 'id ceph; stat -c "%U:%G %a %n" /var/lib/ceph /var/lib/ceph/crash /etc/ceph /var/log/ceph'
run -- "$C" sh -c 'rados --version; rbd --version; ceph-authtool --help 2>&1 | head -1; ceph-bluestore-tool --help 2>&1 | head -1'
# shellcheck disable=SC2016 # expanded in the container
run -- "$C" sh -c 'for c in lvm cryptsetup dmsetup sgdisk lsblk blkid udevadm nsenter stdbuf ip modprobe mkfs.xfs mkfs.ext4 python3 ceph-crash; do command -v $c >/dev/null || { echo "missing $c"; exit 1; }; done; lvm version | head -1; python3 --version'
run -- "$C" sh -c 'ls /usr/share/ceph/mgr | tr "\n" " "; echo; test ! -e /usr/share/ceph/mgr/dashboard && echo "(no dashboard)"'
run -- "$R" rook version
run -- "$R" sh -c 'id; ls -l /usr/local/bin; ls /etc/ceph-monitoring /etc/rook-external | tr "\n" " "; echo; ceph --version'
run -- "$R" sh -c 'rook ceph --help 2>&1 | head -3'
echo "--- $C: /run/ceph and /var/lib/ceph (ctr images mount)"
mkdir -p "$T/ceph"
ctr images mount --snapshotter "$SNAP" "$C" "$T/ceph" >/dev/null
(cd "$T/ceph" && find run/ceph var/lib/ceph -maxdepth 1 -printf '%M %U:%G %p\n')
[ "$(stat -c %u:%g "$T/ceph/run/ceph")" = "$CEPH_UID:$CEPH_UID" ] || { echo "FAILED: /run/ceph is not owned by $CEPH_UID"; fail=1; }
ctr images unmount "$T/ceph" >/dev/null 2>&1 || umount "$T/ceph"
while IFS=: read -r name _mod _ver tag; do
  LINES_SHOWN=2 run -- "$CSI_REGISTRY/$name:$tag" "/$name" --version
done <<<"$CSI_SIDECARS"

# cephcsi and the registrar are not built here (offline/README.md); run them if another build put them beside
for ref in "$CEPHCSI_IMAGE" "$REGISTRAR_IMAGE"; do
  if grep -qx "$ref" <<<"$listed"; then
    case $ref in *cephcsi*) LINES_SHOWN=3 run -- "$ref" cephcsi --version ;; *) LINES_SHOWN=2 run -- "$ref" /csi-node-driver-registrar --version ;; esac
  else echo "--- $ref: not built (see offline/README.md)"; fi
done

if [ "$fail" = 0 ]; then echo "==> verify: all Rook images imported under their names and ran"; else echo "==> verify: FAILED" >&2; exit 1; fi
