#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# nothing to do when the cluster is already gone
if ! command -v kubectl >/dev/null 2>&1 || [ ! -f /etc/kubernetes/admin.conf ]; then
  echo "no cluster on this node; nothing to arm"
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
  echo "the cluster does not answer (6 tries, 10 s apart); nothing to arm"
  exit 0
fi

if ! kc -n rook-ceph get cephcluster rook-ceph >/dev/null 2>&1; then
  echo "no CephCluster rook-ceph; nothing to arm"
  exit 0
fi
left=$(kc -n rook-ceph get cephblockpools,cephfilesystems -o name | paste -sd' ' -)
if [ -n "$left" ]; then
  echo "not arming Rook's disk wipe: $left still exist(s), so the CephCluster is not being deleted (this step runs after ceph-blockpool and ceph-filesystem are gone); the cleanup policy would stop Rook managing a live cluster. Nothing was set." >&2
  exit 1
fi
kc -n rook-ceph patch cephcluster rook-ceph --type merge -p '{"spec":{"cleanupPolicy":{"confirmation":"yes-really-destroy-data","sanitizeDisks":{"method":"quick","dataSource":"zero","iteration":1}}}}' >/dev/null
echo "cleanup policy set: deleting the CephCluster now wipes the OSD disks and /var/lib/rook on every node"
