#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

ceph_() { kc -n rook-ceph exec deploy/rook-ceph-operator -- ceph --conf=/var/lib/rook/rook-ceph/rook-ceph.config --keyring=/var/lib/rook/rook-ceph/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }

if set_at=$(ceph_ config-key get homelab/noout-set-by-power-off); then
  retry 5 5 ceph_ osd unset noout >/dev/null
  retry 5 5 ceph_ config-key rm homelab/noout-set-by-power-off >/dev/null
  echo "noout unset (set by the power-off at $set_at)"
elif ceph_ osd dump 2>/dev/null | grep -E '^flags .*noout' >/dev/null; then
  echo "noout is set, but not by a power-off of this program: left as it is" >&2
else
  echo "noout is not set"
fi
