#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# nothing to do when the cluster is already gone
if ! command -v kubectl >/dev/null 2>&1 || [ ! -f /etc/kubernetes/admin.conf ]; then
  echo "no cluster on this node; nothing to delete for rook"
  exit 0
fi
# one missed answer is not a cluster gone: under load, or while the VIP moves, the API can miss one
# (a destroy in the lab skipped arming Rook's disk wipe on a single miss)
answered=no
for attempt in $(seq 6); do
  if kc --request-timeout=10s get --raw /readyz >/dev/null 2>&1; then answered=yes; break; fi
  [ "$attempt" -lt 6 ] && sleep 10
done
if [ "$answered" = no ]; then
  echo "the cluster does not answer (6 tries, 10 s apart); nothing to delete for rook"
  exit 0
fi

if [ -f /etc/homelab/manifests/rook/operator.yaml ]; then
  kc delete -f /etc/homelab/manifests/rook/operator.yaml --ignore-not-found --wait=false || echo "could not delete everything in operator.yaml; continuing" >&2
elif ! kc delete -f https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/operator.yaml --ignore-not-found --wait=false; then
  echo 'could not delete operator.yaml (fetched from https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/operator.yaml); continuing' >&2
fi
if [ -f /etc/homelab/manifests/rook/common.yaml ]; then
  kc delete -f /etc/homelab/manifests/rook/common.yaml --ignore-not-found --wait=false || echo "could not delete everything in common.yaml; continuing" >&2
elif ! kc delete -f https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/common.yaml --ignore-not-found --wait=false; then
  echo 'could not delete common.yaml (fetched from https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/common.yaml); continuing' >&2
fi
if [ -f /etc/homelab/manifests/rook/crds.yaml ]; then
  kc delete -f /etc/homelab/manifests/rook/crds.yaml --ignore-not-found --wait=false || echo "could not delete everything in crds.yaml; continuing" >&2
elif ! kc delete -f https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/crds.yaml --ignore-not-found --wait=false; then
  echo 'could not delete crds.yaml (fetched from https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/crds.yaml); continuing' >&2
fi

rm -rf /etc/homelab/manifests/rook
echo "rook operator bundle deleted"
