#!/usr/bin/env bash
# verify-containerd.sh [DIR] — check the cephcsi-lite images (scripts/build-offline-cephcsi-lite.sh)
# against a real containerd: a throwaway one (tools/offline/throwaway-containerd.sh) imports
# DIR/images/cephcsi.tar and csi-node-driver-registrar.tar, and then runs
#   cephcsi --version, ceph/rbd/ceph-fuse --version, fusermount3 -V and id ceph in the cephcsi image,
#   the registrar's --help and --version in its image,
#   and the two together as Rook's DaemonSet does: cephcsi --type=cephfs serving /csi/csi.sock, the
#   registrar asking it for the driver name and creating /registration/<name>-reg.sock.
# Needs root and Debian's containerd.
#
#   bash tools/offline/cephcsi-lite/verify-containerd.sh [~/.cache/homelab/offline/rook-v1.17.8]
# Env: SNAPSHOTTER (default overlayfs, falls back to native), KEEP=1 keeps the temp dir.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../rook/versions.env"
. "$HERE/versions.env"
DIR=${1:-${HOMELAB_OFFLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/offline}/rook-$ROOK_VERSION}
for f in cephcsi csi-node-driver-registrar; do
  [ -s "$DIR/images/$f.tar" ] || { echo "no $DIR/images/$f.tar: run scripts/build-offline-cephcsi-lite.sh first" >&2; exit 1; }
done
# shellcheck source=../throwaway-containerd.sh
. "$HERE/../throwaway-containerd.sh" cephcsi-lite

for f in cephcsi csi-node-driver-registrar; do
  echo "==> ctr -n k8s.io images import $f.tar"
  ctr images import --snapshotter "$SNAP" "$DIR/images/$f.tar"
done
ctr images ls
fail=0
have=$(ctr images ls -q)
for ref in "$LITE_CEPHCSI_IMAGE" "$LITE_REGISTRAR_IMAGE"; do
  if grep -qx "$ref" <<<"$have"; then echo "ok   $ref"; else echo "MISSING $ref"; fail=1; fi
done

n=0
run() { # run <image ref> <command...>: run once, print the start of its output
  local out rc=0
  n=$((n + 1))
  echo "--- $1: ${*:2}"
  out=$(ctr run --rm --snapshotter "$SNAP" "$1" "verify-$n" "${@:2}" 2>&1) || rc=$?
  printf '%s\n' "$out" | head -"${LINES_SHOWN:-4}"
  [ "$rc" = 0 ] || { echo "FAILED (exit $rc)"; fail=1; }
}
C=$LITE_CEPHCSI_IMAGE R=$LITE_REGISTRAR_IMAGE
echo "==> running commands in the images"
run "$C" /usr/local/bin/cephcsi --version
run "$C" ceph --version
run "$C" rbd --version
run "$C" ceph-fuse --version
LINES_SHOWN=12 run "$C" sh -c 'fusermount3 -V; mount --version; mkfs.ext4 -V 2>&1 | head -1; id ceph; ls -ld /tmp/csi/keys /var/log/ceph; cat /etc/ceph/ceph.conf'
run "$R" /csi-node-driver-registrar --version
LINES_SHOWN=3 run "$R" /csi-node-driver-registrar --help
for ref in "$C" "$R"; do # the image config's labels
  manifest=$(ctr content get "$(ctr images ls | awk -v r="$ref" '$1 == r { print $3 }')" 2>/dev/null || true)
  digest=$(sed -n 's/.*"config":{[^}]*"digest":"\([^"]*\)".*/\1/p' <<<"$manifest")
  config=$(ctr content get "$digest" 2>/dev/null || true)
  if grep -q '"org.homelab.stand-in":"true"' <<<"$config"; then echo "ok   $ref is labelled org.homelab.stand-in=true"
  else echo "FAILED: $ref has no org.homelab.stand-in=true label"; fail=1; fi
done

# the two together, as in Rook's csi-cephfsplugin DaemonSet: the plugin serves /csi/csi.sock, the
# registrar asks it for its name and serves /registration/<name>-reg.sock for the kubelet
echo "--- cephcsi --type=cephfs --nodeserver + csi-node-driver-registrar, sharing /csi and /registration"
mkdir -p "$T/csi" "$T/registration" "$T/config"
echo '[{"clusterID":"rook-ceph","monitors":["192.0.2.1:6789"],"cephFS":{"subvolumeGroup":""},"namespace":"rook-ceph"}]' >"$T/config/config.json"
ctr run -d --snapshotter "$SNAP" --mount "type=bind,src=$T/csi,dst=/csi,options=rbind:rw" \
  --mount "type=bind,src=$T/config,dst=/etc/ceph-csi-config,options=rbind:ro" \
  "$C" verify-plugin /usr/local/bin/cephcsi --nodeid=node1 --type=cephfs --endpoint=unix:///csi/csi.sock --v=0 \
  --nodeserver=true --drivername=rook-ceph.cephfs.csi.ceph.com --pidlimit=-1 --forcecephkernelclient=false >/dev/null
ctr run -d --snapshotter "$SNAP" --mount "type=bind,src=$T/csi,dst=/csi,options=rbind:rw" \
  --mount "type=bind,src=$T/registration,dst=/registration,options=rbind:rw" \
  "$R" verify-registrar /csi-node-driver-registrar --v=0 --csi-address=/csi/csi.sock \
  --kubelet-registration-path=/var/lib/kubelet/plugins/rook-ceph.cephfs.csi.ceph.com/csi.sock >/dev/null
ok=0
for _ in $(seq 50); do [ -S "$T/registration/rook-ceph.cephfs.csi.ceph.com-reg.sock" ] && { ok=1; break; }; sleep 0.2; done
ls -l "$T/csi" "$T/registration" | sed 's/^/    /'
for t in verify-plugin verify-registrar; do
  ctr tasks kill -s TERM "$t" >/dev/null 2>&1 || true
done
sleep 1
for t in verify-plugin verify-registrar; do
  ctr tasks kill -s KILL "$t" >/dev/null 2>&1 || true; sleep 0.2
  ctr tasks rm "$t" >/dev/null 2>&1 || true; ctr containers rm "$t" >/dev/null 2>&1 || true
done
if [ "$ok" = 1 ]; then echo "ok: the registrar learnt the name from cephcsi and serves rook-ceph.cephfs.csi.ceph.com-reg.sock"
else echo "FAILED: no registration socket"; fail=1; fi
[ -S "$T/registration/rook-ceph.cephfs.csi.ceph.com-reg.sock" ] && { echo "FAILED: the registrar left its socket after SIGTERM"; fail=1; }

if [ "$fail" = 0 ]; then echo "==> verify: both cephcsi-lite images imported under Rook's names and ran"; else echo "==> verify: FAILED" >&2; exit 1; fi
