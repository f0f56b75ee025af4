#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# nothing to do when the cluster is already gone
if ! command -v kubectl >/dev/null 2>&1 || [ ! -f /etc/kubernetes/admin.conf ]; then
  echo "no cluster on this node; no Rook cleanup to wait for"
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
  echo "the cluster does not answer (6 tries, 10 s apart); no Rook cleanup to wait for"
  exit 0
fi

# the operator starts the jobs once the CephCluster with its cleanup policy is deleted
for attempt in $(seq 1 18); do
  jobs=$(kc -n rook-ceph get jobs -o jsonpath='{range .items[*]}{.metadata.name} {.status.succeeded}{"\n"}{end}' 2>/dev/null | grep '^cluster-cleanup-job-' || true)
  [ -n "$jobs" ] && break
  echo "[$attempt/18] waiting for Rook to start its cleanup jobs"
  sleep 10
done
if [ -z "$jobs" ]; then
  echo "Rook started no cleanup jobs in 3 minutes (kubectl -n rook-ceph logs deploy/rook-ceph-operator may say why): each node's wipe step, next, wipes its OSD disks and /var/lib/rook"
  exit 0
fi
for attempt in $(seq 1 60); do
  jobs=$(kc -n rook-ceph get jobs -o jsonpath='{range .items[*]}{.metadata.name} {.status.succeeded}{"\n"}{end}' 2>/dev/null | grep '^cluster-cleanup-job-' || true)
  pending=$(echo "$jobs" | awk '$2 != "1" { print $1 }')
  if [ -z "$pending" ]; then
    echo "Rook wiped the disks and /var/lib/rook: $(echo "$jobs" | awk '{ print $1 }' | paste -sd' ' -)"
    exit 0
  fi
  echo "[$attempt/60] cleanup jobs still running: $(echo "$pending" | paste -sd' ' -)"
  sleep 10
done
echo "Rook's cleanup jobs did not finish in 10 minutes ($(echo "$pending" | paste -sd' ' -)): each node's wipe step, next, wipes what they left"
