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

health=$(ceph_ health || true)
if [ -z "$health" ]; then
  echo "Ceph does not answer (through the Rook operator's pod): cannot tell whether its data is safe to power down" >&2
  echo "going on: homelab:shutdown.ignoreCephHealth is true" >&2
elif [ "${health%% *}" != HEALTH_OK ]; then
  echo "Ceph is not HEALTH_OK:" >&2
  ceph_ health detail >&2 || true
  echo "going on: homelab:shutdown.ignoreCephHealth is true" >&2
else
  echo "Ceph is HEALTH_OK"
fi

# noout: OSDs that go down with their nodes are not marked out, so no data moves while the lab is off
if [ -n "$health" ]; then
  retry 5 5 ceph_ osd set noout >/dev/null
  retry 5 5 ceph_ config-key set homelab/noout-set-by-power-off "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
  echo "noout set"
fi
