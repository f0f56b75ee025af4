#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

ceph_() { kc -n rook-ceph exec deploy/rook-ceph-operator -- ceph --conf=/var/lib/rook/rook-ceph/rook-ceph.config --keyring=/var/lib/rook/rook-ceph/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }

if ! kc -n rook-ceph get cephcluster rook-ceph -o name >/dev/null 2>&1; then
  echo "no CephCluster rook-ceph: no Ceph to wait for"
  exit 0
fi
started=$(date +%s)
while :; do
  health=$(ceph_ health | awk '{ print $1 }' || true)
  read -r osds_total osds_up osds_in <<<"$(ceph_ osd stat | tr -d ',;()' | awk '{ for (i = 2; i <= NF; i++) { if ($i == "osds:") t = $(i - 1); if ($i == "up") u = $(i - 1); if ($i == "in") n = $(i - 1) } } END { if (t != "") print t, u, n }' || true)" || true
  if [ "$health" = HEALTH_OK ] && [ -n "$osds_total" ] && [ "$osds_up" = "$osds_total" ] && [ "$osds_in" = "$osds_total" ]; then
    echo "Ceph is HEALTH_OK with $osds_total OSDs up and in"
    exit 0
  fi
  if [ $(($(date +%s) - started)) -ge 1200 ]; then break; fi
  echo "[$(($(date +%s) - started))s of 1200s] Ceph health ${health:-unknown}; OSDs (total up in) ${osds_total:-?} ${osds_up:-?} ${osds_in:-?}"
  sleep 10
done
echo "Ceph was not HEALTH_OK with every OSD up and in within 20 minutes (storage.healthTimeoutMinutes):" >&2
ceph_ health detail >&2 || true
exit 1
