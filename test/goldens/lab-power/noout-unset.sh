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

deadline=$(($(date +%s) + 600))
# ceph config-key exists: 0 when the key is there, ENOENT (2) when not; anything else is no answer
until osd_dump=$(ceph_ osd dump) && { ceph_ config-key exists homelab/noout-set-by-power-off >/dev/null; marker=$?; [ "$marker" = 0 ] || [ "$marker" = 2 ]; }; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "Ceph did not answer within 600 s of the cluster's return, so noout, if a power-off set it, is still set: run pulumi up again, or ceph osd unset noout once Ceph answers" >&2
    exit 1
  fi
  sleep 5
done
if [ "$marker" = 0 ]; then
  set_at=$(retry 5 5 ceph_ config-key get homelab/noout-set-by-power-off)
  retry 5 5 ceph_ osd unset noout >/dev/null
  retry 5 5 ceph_ config-key rm homelab/noout-set-by-power-off >/dev/null
  echo "noout unset (set by the power-off at $set_at)"
elif echo "$osd_dump" | grep -E '^flags .*noout' >/dev/null; then
  echo "noout is set, but not by a power-off of this program: left as it is" >&2
else
  echo "noout is not set"
fi
