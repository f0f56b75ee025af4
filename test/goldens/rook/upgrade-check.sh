#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# Rook moves one minor release at a time, never back, and not while Ceph is in error
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | tail -n 1)" = "${1#v}" ]; }
ceph_() { kc -n rook-ceph exec deploy/rook-ceph-operator -- ceph --conf=/var/lib/rook/rook-ceph/rook-ceph.config --keyring=/var/lib/rook/rook-ceph/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }
running=$(kc -n rook-ceph get deployment rook-ceph-operator -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || true)
running=${running##*:}
running=${running#v}
if [ -n "$running" ] && [ "$running" != 1.17.8 ]; then
  if newer "$running" 1.17.8; then
    echo "storage.rookVersion 1.17.8 is older than the running Rook $running; Rook cannot be downgraded: set storage.rookVersion to $running or later" >&2
    exit 1
  fi
  IFS=. read -r running_major running_minor _ <<<"$running"
  IFS=. read -r want_major want_minor _ <<<1.17.8
  if [ "$running_major" != "$want_major" ] || [ $((want_minor - running_minor)) -gt 1 ]; then
    echo "storage.rookVersion 1.17.8 is more than one minor release above the running Rook $running; Rook upgrades one minor at a time: set storage.rookVersion to $running_major.$((running_minor + 1)).x first" >&2
    exit 1
  fi
  if kc -n rook-ceph get cephcluster rook-ceph -o name >/dev/null 2>&1; then
    health=$(ceph_ health detail || true)
    if [ "${health%% *}" = HEALTH_ERR ] || [ -z "$health" ]; then
      echo "Rook is not upgraded (storage.rookVersion 1.17.8) while Ceph is in error or does not answer; nothing was changed:" >&2
      echo "${health:-no answer from the ceph CLI in the operator pod}" >&2
      exit 1
    fi
  fi
  echo "upgrading Rook from $running to 1.17.8"
fi
