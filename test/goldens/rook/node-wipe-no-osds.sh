#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

# deleting the CephCluster stops the node's Ceph daemons; a disk still in use is not touched
command -v pgrep >/dev/null 2>&1 || { echo "pgrep (procps) is missing on home-server-3: cannot tell whether Ceph still runs there; nothing was wiped" >&2; exit 1; }
for attempt in $(seq 1 30); do
  daemons=$(pgrep -x 'ceph-(mon|mgr|osd|mds)' | paste -sd' ' - || true)
  [ -z "$daemons" ] && break
  echo "[$attempt/30] waiting for Ceph's daemons on home-server-3 to stop (pids $daemons)"
  sleep 10
done
if [ -n "$daemons" ]; then
  echo "Ceph's daemons still run on home-server-3 (pids $daemons) 5 minutes after the CephCluster was deleted: its OSD disks and /var/lib/rook were NOT wiped; the next destroy tries again" >&2
  exit 1
fi

# home-server-3 has no OSD disks

# Rook's cleanup leaves the directory itself; so does this
if [ -d /var/lib/rook ] && [ -n "$(find /var/lib/rook -mindepth 1 -print -quit)" ]; then
  find /var/lib/rook -mindepth 1 -delete
  echo "emptied /var/lib/rook on home-server-3"
else
  echo "/var/lib/rook on home-server-3 is empty already"
fi

# the record goes once no disk here can carry that cluster's data; a refused disk keeps it for later checks
if [ "${refused:-0}" = 0 ] && [ -e /etc/homelab/ceph/fsid-destroyed ]; then
  rm -f /etc/homelab/ceph/fsid-destroyed
  echo "forgot the destroyed cluster's fsid on home-server-3: none of its disks here carries it"
fi
