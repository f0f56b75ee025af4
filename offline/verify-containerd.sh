#!/usr/bin/env bash
# verify-containerd.sh [DIR] — check an offline build (offline/build-kubernetes.sh) against a real
# containerd: start a throwaway containerd (own root, state and socket under /tmp, stopped and
# removed at the end), `ctr -n k8s.io images import` every images/*.tar, check that each image
# listed in artifacts.json is there under its kubeadm name, then run some of them:
# pause -v, etcd/etcdctl --version, the kube-* --version, coredns -version, and in kube-proxy's
# image iptables (both back ends), conntrack and nft. Needs root and Debian's containerd.
#
#   bash offline/verify-containerd.sh [~/.cache/homelab/offline/kubernetes-v1.37.2]
# The versions and tags come from DIR's artifacts.json, so any release's directory can be checked
# (offline/build-kubernetes.sh --release vX.Y.Z --verify).
# Env: SNAPSHOTTER (default overlayfs, falls back to native), KEEP=1 keeps the temp dir.
set -euo pipefail
OFF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$OFF/versions.env"
DIR=${1:-${HOMELAB_OFFLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/offline}/kubernetes-$KUBERNETES_VERSION}
[ -s "$DIR/artifacts.json" ] || { echo "no artifacts.json in $DIR: run offline/build-kubernetes.sh first" >&2; exit 1; }
# the release in DIR: its Kubernetes version and etcd, CoreDNS and pause tags
art() { sed -n "s/.*\"$1\": *{\"tag\": \"\([^\"]*\)\".*/\1/p" "$DIR/artifacts.json"; }
KUBERNETES_VERSION=$(sed -n 's/.*"kubernetesVersion": "\([^"]*\)".*/\1/p' "$DIR/artifacts.json")
ETCD_TAG=$(art etcd) COREDNS_TAG=$(art coredns) PAUSE_TAG=$(art pause)
if [ -z "$KUBERNETES_VERSION" ] || [ -z "$ETCD_TAG" ] || [ -z "$COREDNS_TAG" ] || [ -z "$PAUSE_TAG" ]; then
  echo "$DIR/artifacts.json lacks the Kubernetes version or the etcd, CoreDNS or pause tag" >&2; exit 1
fi
# shellcheck source-path=SCRIPTDIR source=throwaway-containerd.sh
. "$(dirname "${BASH_SOURCE[0]}")/throwaway-containerd.sh" offline

for f in "$DIR"/images/*.tar; do
  echo "==> ctr -n k8s.io images import $(basename "$f")"
  ctr images import --snapshotter "$SNAP" "$f"
done
echo "==> ctr -n k8s.io images ls"
ctr images ls
fail=0
have=$(ctr images ls -q)
# shellcheck disable=SC2013 # image refs have no spaces
for ref in $(sed -n 's/.*"ref": "\([^"]*\)".*/\1/p' "$DIR/artifacts.json"); do
  if grep -qx "$ref" <<<"$have"; then echo "ok   $ref"; else echo "MISSING $ref"; fail=1; fi
done

n=0
run() { # run <image ref> <command...>: run once, print the start of its output
  local out rc=0
  n=$((n + 1))
  echo "--- $1: ${*:2}"
  out=$(ctr run --rm --snapshotter "$SNAP" "$1" "verify-$n" "${@:2}" 2>&1) || rc=$?
  printf '%s\n' "$out" | head -4
  [ "$rc" = 0 ] || { echo "FAILED (exit $rc)"; fail=1; }
}
R=$IMAGE_REGISTRY KV=$KUBERNETES_VERSION
echo "==> running commands in the images"
run "$R/pause:$PAUSE_TAG" /pause -v
run "$R/etcd:$ETCD_TAG" etcd --version
run "$R/etcd:$ETCD_TAG" etcdctl version
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do run "$R/$c:$KV" "$c" --version; done
run "$R/kube-proxy:$KV" /go-runner --help
run "$R/kube-proxy:$KV" iptables --version
run "$R/kube-proxy:$KV" sh -c 'IPTABLES_MODE=legacy iptables-save >/dev/null && iptables --version && ip6tables-restore --version'
run "$R/kube-proxy:$KV" sh -c 'conntrack --version; nft --version; ipset --version | head -1'
run "$R/coredns/coredns:$COREDNS_TAG" /coredns -version
# the file capability lets coredns (uid 65532) bind port 53
echo "--- $R/coredns/coredns:$COREDNS_TAG: binds :53 as uid 65532"
printf '.:53 {\n  whoami\n}\n' >"$T/Corefile"
ctr run -d --snapshotter "$SNAP" --mount "type=bind,src=$T/Corefile,dst=/Corefile,options=rbind:ro" \
  "$R/coredns/coredns:$COREDNS_TAG" verify-dns /coredns -conf /Corefile >/dev/null
sleep 2
out=$(ctr tasks ls | grep verify-dns || true)
ctr tasks kill -s KILL verify-dns >/dev/null 2>&1 || true; sleep 1
ctr tasks rm verify-dns >/dev/null 2>&1 || true; ctr containers rm verify-dns >/dev/null 2>&1 || true
if echo "$out" | grep -q RUNNING; then echo "ok: coredns still running after 2 s"; else echo "FAILED: coredns exited"; fail=1; fi
# pause as its real self: starts, stays up, stops on SIGTERM
ctr run -d --snapshotter "$SNAP" "$R/pause:$PAUSE_TAG" verify-pause >/dev/null
sleep 1
tasks=$(ctr tasks ls)
if grep verify-pause <<<"$tasks" | grep -q RUNNING; then echo "ok: pause running as $(ctr containers info verify-pause | grep -m1 '"uid"' | tr -d ' ,')"; else echo "FAILED: pause"; fail=1; fi
ctr tasks kill verify-pause >/dev/null; sleep 1; ctr tasks rm verify-pause >/dev/null 2>&1 || true; ctr containers rm verify-pause >/dev/null 2>&1 || true

if [ "$fail" = 0 ]; then echo "==> verify: all images imported under their names and ran"; else echo "==> verify: FAILED" >&2; exit 1; fi
