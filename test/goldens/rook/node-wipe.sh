#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

# deleting the CephCluster stops the node's Ceph daemons; a disk still in use is not touched
command -v pgrep >/dev/null 2>&1 || { echo "pgrep (procps) is missing on home-server-1: cannot tell whether Ceph still runs there; nothing was wiped" >&2; exit 1; }
for attempt in $(seq 1 30); do
  daemons=$(pgrep -x 'ceph-(mon|mgr|osd|mds)' | paste -sd' ' - || true)
  [ -z "$daemons" ] && break
  echo "[$attempt/30] waiting for Ceph's daemons on home-server-1 to stop (pids $daemons)"
  sleep 10
done
if [ -n "$daemons" ]; then
  echo "Ceph's daemons still run on home-server-1 (pids $daemons) 5 minutes after the CephCluster was deleted: its OSD disks and /var/lib/rook were NOT wiped; the next destroy tries again" >&2
  exit 1
fi

for device in /dev/disk/by-id/ata-WDC_1 /dev/sdc; do
  if [ ! -e "$device" ]; then
    echo "$device is not on home-server-1: nothing to wipe"
    continue
  fi
  if [ "$(head -c 1048576 "$device" | tr -d '\0' | wc -c)" = 0 ]; then
    echo "$device is blank at its start already (Rook's cleanup zeroes it): nothing to wipe"
    continue
  fi
  size=$(blockdev --getsize64 "$device" 2>/dev/null || stat -L -c %s "$device")
  mib=$((size / 1048576))
  [ "$mib" -gt 100 ] && mib=100
  dd if=/dev/zero of="$device" bs=1M count="$mib" conv=notrunc,fsync status=none
  echo "zeroed the first $mib MiB of $device: no Ceph label is left on it"
done

# Rook's cleanup leaves the directory itself; so does this
if [ -d /var/lib/rook ] && [ -n "$(find /var/lib/rook -mindepth 1 -print -quit)" ]; then
  find /var/lib/rook -mindepth 1 -delete
  echo "emptied /var/lib/rook on home-server-1"
else
  echo "/var/lib/rook on home-server-1 is empty already"
fi
