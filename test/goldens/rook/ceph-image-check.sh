#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | tail -n 1)" = "${1#v}" ]; }

ceph_() { kc -n rook-ceph exec deploy/rook-ceph-operator -- ceph --conf=/var/lib/rook/rook-ceph/rook-ceph.config --keyring=/var/lib/rook/rook-ceph/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }

# Ceph's daemons move forward only, at most two major releases, and not while Ceph is in error
if ! kc -n rook-ceph get cephcluster rook-ceph -o name >/dev/null 2>&1; then
  echo "no CephCluster rook-ceph yet: it starts at quay.io/ceph/ceph:v19.2.3"
  exit 0
fi
running=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.version.image}' 2>/dev/null || true)
if [ "$running" = quay.io/ceph/ceph:v19.2.3 ]; then
  echo "Ceph runs quay.io/ceph/ceph:v19.2.3"
  exit 0
fi
running_version=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.version.version}' 2>/dev/null || true)
running_version=${running_version%%-*}
if [ -n "$running_version" ] && [ "$running_version" != 19.2.3 ]; then
  if newer "$running_version" 19.2.3; then
    echo "storage.cephImage quay.io/ceph/ceph:v19.2.3 is Ceph 19.2.3, older than the running Ceph $running_version ($running); Ceph cannot be downgraded: keep storage.cephImage at $running or a later release" >&2
    exit 1
  fi
  if [ $((19 - ${running_version%%.*})) -gt 2 ]; then
    echo "storage.cephImage quay.io/ceph/ceph:v19.2.3 is Ceph 19.2.3, more than two major releases above the running Ceph $running_version; Ceph upgrades from the two previous majors: go through a release in between first" >&2
    exit 1
  fi
fi
health=$(ceph_ health detail || true)
if [ "${health%% *}" = HEALTH_ERR ] || [ -z "$health" ]; then
  echo "Ceph is not moved to storage.cephImage quay.io/ceph/ceph:v19.2.3 while Ceph is in error or does not answer; nothing was changed:" >&2
  echo "${health:-no answer from the ceph CLI in the operator pod}" >&2
  exit 1
fi
echo "moving Ceph from ${running:-(not reported yet)} to quay.io/ceph/ceph:v19.2.3; Rook restarts its daemons one at a time"
