#!/usr/bin/env bash
# verify-containerd.sh [DIR] — check an offline Calico build (offline/build-calico.sh)
# against a real containerd: start a throwaway containerd (own root, state and socket under /tmp,
# stopped and removed at the end), `ctr -n k8s.io images import` every images/*.tar, check that
# each image of artifacts.json and of the manifest is there under its name, then run them:
# calico-node -v and the node image's tools (iptables legacy and nft, ipset, ip, conntrack, nft,
# runit), the manifest's ebpf-bootstrap command, the cni image's /opt/cni/bin and its installer
# (the manifest's install-cni, into a temporary "host" directory), and kube-controllers' check-status.
# Needs root and Debian's containerd. Like offline/verify-containerd.sh, which it follows.
#
#   bash offline/calico/verify-containerd.sh [~/.cache/homelab/offline/calico-v3.31.0]
# Env: SNAPSHOTTER (default overlayfs, falls back to native), KEEP=1 keeps the temp dir.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$HERE/versions.env"
CV=$CALICO_VERSION R=$CALICO_REGISTRY
DIR=${1:-${HOMELAB_OFFLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/offline}/calico-$CV}
[ -s "$DIR/artifacts.json" ] || { echo "no artifacts.json in $DIR: run offline/build-calico.sh first" >&2; exit 1; }
(cd "$DIR" && sha256sum --quiet -c SHA256SUMS) || { echo "SHA256SUMS does not match in $DIR" >&2; exit 1; }
echo "==> SHA256SUMS ok"
# shellcheck source-path=SCRIPTDIR source=../throwaway-containerd.sh
. "$(dirname "${BASH_SOURCE[0]}")/../throwaway-containerd.sh" offline-calico

for f in "$DIR"/images/*.tar; do
  echo "==> ctr -n k8s.io images import $(basename "$f")"
  ctr images import --snapshotter "$SNAP" "$f"
done
echo "==> ctr -n k8s.io images ls"
ctr images ls | awk '{print $1, $3, $4, $5, $6}' | column -t
fail=0
refs=$( { sed -n 's/.*"ref": "\([^"]*\)".*/\1/p' "$DIR/artifacts.json"
          sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\} *$/\1/p' "$DIR"/manifests/*.yaml; } | sort -u)
for ref in $refs; do
  if ctr images ls -q | grep -qx "$ref"; then echo "ok   $ref"; else echo "MISSING $ref"; fail=1; fi
done

n=0
run() { # run [ctr run options...] -- <image ref> <command...>: run once, print the start of its output
  local out rc=0 opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
  n=$((n + 1))
  echo "--- $1: ${*:2}"
  out=$(ctr run --rm --snapshotter "$SNAP" "${opts[@]}" "$1" "verify-$n" "${@:2}" 2>&1) || rc=$?
  printf '%s\n' "$out" | head -"${LINES_SHOWN:-6}"
  [ "$rc" = 0 ] || { echo "FAILED (exit $rc)"; fail=1; }
}
N=$R/node:$CV C=$R/cni:$CV K=$R/kube-controllers:$CV
echo "==> running commands in the images"
run -- "$N" calico-node -v
run -- "$N" /bin/calico-node -v
# shellcheck disable=SC2016 # expanded in the container
run -- "$N" sh -c 'ls -l /bin/calico-node /bin/mountns /etc/rc.local /usr/sbin/start_runit; ls /etc/service/available | tr "\n" " "; echo; echo "SVDIR=$SVDIR"'
run -- "$N" sh -c 'iptables --version; iptables-legacy --version; iptables-nft --version; ip6tables-legacy-save --version; ipset --version | head -1'
run -- "$N" sh -c 'ip -V; tc -V; conntrack --version; nft --version; arp --version 2>&1 | head -1; kmod --version'
# shellcheck disable=SC2016 # expanded in the container
run -- "$N" sh -c 'for c in runsvdir runsv sv svlogd chpst which bash; do command -v $c; done | tr "\n" " "; echo; ps --version'
# in the container's own network namespace, with the privileges calico-node has in the DaemonSet
run --privileged -- "$N" sh -c 'iptables-legacy-save >/dev/null && echo legacy-save ok; iptables-nft-save >/dev/null && echo nft-save ok; nft list tables >/dev/null && echo nft ok; ipset list >/dev/null && echo ipset ok'
# the manifest's ebpf-bootstrap init container (best effort: succeeds without the BPF data plane)
# shellcheck disable=SC2016 # expanded in the container
LINES_SHOWN=4 run -- "$N" sh -c 'calico-node -init -best-effort >/tmp/init.log 2>&1; rc=$?; tail -3 /tmp/init.log; echo "exit status: $rc"; exit $rc'
run -- "$N" sh -c 'mountns; true'  # prints its usage (a cgo build: the stub of a non-cgo build says "not supported")
# the cni image has no shell or ls (as upstream's, on calico/base): list its files from the snapshot
echo "--- $C: /opt/cni/bin (ctr images mount)"
mkdir -p "$T/cni"
ctr images mount --snapshotter "$SNAP" "$C" "$T/cni" >/dev/null
(cd "$T/cni" && find opt/cni/bin -mindepth 1 -printf '%M %U:%G %9s %p %l\n' | sort -k5)
for b in calico calico-ipam install portmap bandwidth tuning loopback host-local; do
  [ -x "$T/cni/opt/cni/bin/$b" ] || { echo "FAILED: no /opt/cni/bin/$b"; fail=1; }
done
ctr images unmount "$T/cni" >/dev/null 2>&1 || umount "$T/cni"
run -- "$C" /opt/cni/bin/calico -v
run -- "$C" /opt/cni/bin/calico-ipam -v
for p in portmap bandwidth tuning loopback host-local; do
  LINES_SHOWN=1 run --env CNI_COMMAND=VERSION -- "$C" "/opt/cni/bin/$p"
done
# The manifest's install-cni container, as the DaemonSet runs it (its command, env and mounts), with
# no service account token (so no kubeconfig is written) and the manifest's CNI config template.
mkdir -p "$T/host/bin" "$T/host/net.d"
mtu=$(sed -n 's/^  veth_mtu: "\([0-9]*\)"$/\1/p' "$DIR"/manifests/*.yaml)
netconf=$(awk '/^  cni_network_config: \|-/{f=1; next} f && (/^---/ || /^  [a-z_]+:/){exit} f{sub(/^    /, ""); print}' "$DIR"/manifests/*.yaml)
echo "--- $C: /opt/cni/bin/install (the manifest's install-cni) into $T/host"
if ctr run --rm --snapshotter "$SNAP" \
  --mount "type=bind,src=$T/host/bin,dst=/host/opt/cni/bin,options=rbind:rw" \
  --mount "type=bind,src=$T/host/net.d,dst=/host/etc/cni/net.d,options=rbind:rw" \
  --env CNI_CONF_NAME=10-calico.conflist --env "CNI_NETWORK_CONFIG=$netconf" --env KUBERNETES_NODE_NAME=verify-node \
  --env "CNI_MTU=$mtu" --env SLEEP=false "$C" verify-install /opt/cni/bin/install >"$T/install.log" 2>&1; then
  grep -E 'Installed|CNI plugin version|Created|Done' "$T/install.log" | sed 's/^[0-9-]* [0-9:.]* //' | head -12
  echo "host /opt/cni/bin: $(find "$T/host/bin" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')"
  echo "host /etc/cni/net.d: $(find "$T/host/net.d" -mindepth 1 -printf '%f ')"
  for b in calico calico-ipam portmap bandwidth tuning loopback host-local; do
    [ -x "$T/host/bin/$b" ] || { echo "FAILED: install did not put $b on the host"; fail=1; }
  done
  if grep -q '"type": "calico"' "$T/host/net.d/10-calico.conflist" && grep -q "\"mtu\": $mtu," "$T/host/net.d/10-calico.conflist"; then
    echo "ok: 10-calico.conflist written (nodename $(grep -o '"nodename": "[^"]*"' "$T/host/net.d/10-calico.conflist"))"
  else echo "FAILED: 10-calico.conflist"; fail=1; fi
  "$T/host/bin/calico-ipam" -v >/dev/null && echo "ok: host calico-ipam -v: $("$T/host/bin/calico-ipam" -v)"
else
  tail -20 "$T/install.log"; echo "FAILED: install"; fail=1
fi
# kube-controllers: the image's entrypoint is /usr/bin/wrapper /usr/bin/kube-controllers, arguments go to the latter
run -- "$K" /usr/bin/wrapper /usr/bin/kube-controllers -version
echo "--- $K: its entrypoint as the Deployment runs it (no API server here: it must start as uid 999, then fail to connect)"
ctr run -d --log-uri "file://$T/kc.log" --snapshotter "$SNAP" "$K" verify-kc >/dev/null
sleep 3
info=$(ctr containers info verify-kc | tr -d ' \n')
echo "process: $(grep -o '"user":{[^}]*}' <<<"$info"), $(grep -o '"args":\[[^]]*\]' <<<"$info")"
ctr tasks kill -s KILL verify-kc >/dev/null 2>&1 || true; sleep 1
ctr tasks rm verify-kc >/dev/null 2>&1 || true; ctr containers rm verify-kc >/dev/null 2>&1 || true
grep -E -m3 'Starting|Fatal|level=fatal|FATAL|ERROR' "$T/kc.log" | cut -c1-160
grep -q '"user":{"uid":999' <<<"$info" || { echo "FAILED: kube-controllers does not run as uid 999"; fail=1; }
echo "--- $K: files (ctr images mount)"
mkdir -p "$T/kc"
ctr images mount --snapshotter "$SNAP" "$K" "$T/kc" >/dev/null
(cd "$T/kc" && find usr/bin status profiles -printf '%M %U:%G %8s %p\n')
"$T/kc/usr/bin/check-status" -h 2>&1 | head -3 || true
[ -x "$T/kc/usr/bin/check-status" ] || { echo "FAILED: no /usr/bin/check-status"; fail=1; }
ctr images unmount "$T/kc" >/dev/null 2>&1 || umount "$T/kc"

if [ "$fail" = 0 ]; then echo "==> verify: all Calico images imported under their names and ran"; else echo "==> verify: FAILED" >&2; exit 1; fi
