#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# mons, the mgr and one OSD per device come up one after another: minutes, not seconds
for attempt in $(seq 1 90); do
  health=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.ceph.health}' 2>/dev/null || true)
  if [ "$health" = HEALTH_OK ]; then
    echo "Ceph (quay.io/ceph/ceph:v19.2.3, Rook 1.17.8) is HEALTH_OK"
    exit 0
  fi
  phase=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.phase}' 2>/dev/null || true)
  echo "[$attempt/90] Ceph health ${health:-unknown}, cluster phase ${phase:-unknown}"
  sleep 10
done

echo "Ceph did not reach HEALTH_OK in 15 minutes; see kubectl -n rook-ceph describe cephcluster rook-ceph" >&2
kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.ceph.details}' >&2 2>/dev/null || true
exit 1
