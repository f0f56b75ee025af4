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

# MAJ:MIN (decimal) of the block device $1
dev_number() {
  local hex
  hex=$(stat -L -c '%t %T' "$1") || return 1
  printf '%d:%d\n' "0x${hex% *}" "0x${hex#* }"
}

# MAJ:MIN of every whole disk under the block device MAJ:MIN $1: itself, the disk of a partition,
# and through slaves the disks below device-mapper (LVM, dm-crypt) or md
disks_under() {
  local sys slave
  sys=$(readlink -f "/sys/dev/block/$1" 2>/dev/null) || return 0
  [ -d "$sys" ] || return 0
  if [ -e "$sys/partition" ]; then sys=${sys%/*}; fi
  cat "$sys/dev"
  for slave in "$sys"/slaves/*; do
    if [ -e "$slave/dev" ]; then disks_under "$(cat "$slave/dev")"; fi
  done
}

# Why $1 is not a whole disk that nothing else uses, one reason a line; nothing when it is one.
disk_problems() {
  local device=$1 real number sys entry parent numbers partitions="" holders="" mounted="" number_of root_disks file _rest
  real=$(readlink -f "$device")
  if [ ! -b "$real" ]; then
    if [ -f "$real" ]; then echo "is a regular file, not a block device"
    elif [ -d "$real" ]; then echo "is a directory, not a block device"
    else echo "is not a block device"; fi
    return 0
  fi
  number=$(dev_number "$real")
  sys=$(readlink -f "/sys/dev/block/$number" 2>/dev/null || true)
  if [ -z "$sys" ] || [ ! -d "$sys" ]; then
    echo "has no /sys/dev/block/$number: cannot tell what uses it"
    return 0
  fi
  if [ -e "$sys/partition" ]; then
    parent=${sys%/*}
    echo "is partition ${sys##*/} of ${parent##*/}, not a whole disk"
    return 0
  fi
  numbers=" $number "
  for entry in "$sys"/*/partition; do
    [ -e "$entry" ] || continue
    entry=${entry%/partition}
    partitions="$partitions ${entry##*/}"
    numbers="$numbers$(cat "$entry/dev") "
  done
  if [ -n "$partitions" ]; then echo "has partitions:$partitions"; fi
  for entry in "$sys"/holders/* "$sys"/*/holders/*; do
    [ -e "$entry" ] || continue
    if [ -r "$entry/dm/name" ]; then holders="$holders ${entry##*/} ($(cat "$entry/dm/name"))"; else holders="$holders ${entry##*/}"; fi
  done
  if [ -n "$holders" ]; then echo "is held by$holders (device-mapper such as LVM or dm-crypt, md RAID, or another driver)"; fi
  # mountinfo: MAJ:MIN is field 3, the mount point field 5, the source the second field after "-"
  while read -r number_of entry file; do
    if [[ $numbers == *" $number_of "* ]]; then
      mounted="$mounted $entry"
    elif [[ $file == /dev/* ]] && [ -b "$file" ] && [[ $numbers == *" $(dev_number "$file") "* ]]; then
      mounted="$mounted $entry"
    fi
  done < <(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { print $3, $5, $(i + 2); break } }' /proc/self/mountinfo)
  if [ -n "$mounted" ]; then echo "is mounted (itself or a partition) at$mounted"; fi
  while read -r file _rest; do
    if [ -b "$file" ] && [[ $numbers == *" $(dev_number "$file") "* ]]; then echo "is in use as swap ($file)"; fi
  done < <(tail -n +2 /proc/swaps)
  root_disks=" "
  while read -r number_of file; do
    root_disks="$root_disks$(disks_under "$number_of" | paste -sd' ' -) "
    if [[ $file == /dev/* ]] && [ -b "$file" ]; then root_disks="$root_disks$(disks_under "$(dev_number "$file")" | paste -sd' ' -) "; fi
  done < <(awk '$5 == "/" { for (i = 7; i < NF; i++) if ($i == "-") { print $3, $(i + 2); break } }' /proc/self/mountinfo)
  if [[ $root_disks == *" $number "* ]]; then echo "holds the root file system /"; fi
  return 0
}

# The BlueStore label at the start of block device $1 (or $2 blocks of 4096 bytes in, where Ceph 19.2.1 and
# later keep copies): "bluestore FSID WHOAMI OSD_UUID", "unreadable WHY" or "none"
bluestore_label() {
  dd if="$1" bs=4096 skip="${2:-0}" count=1 status=none | od -An -v -t u1 | LC_ALL=C awk '
{ for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
function u32(o) { return b[o] + 256 * b[o + 1] + 65536 * b[o + 2] + 16777216 * b[o + 3] }
function text(o, len,   s, i) { s = ""; for (i = 0; i < len; i++) s = s sprintf("%c", b[o + i]); return s }
function bad(why) { print "unreadable " why; exit }
END {
  if (n < 66 || text(0, 22) != "bluestore block device" || b[22] != 10) { print "none"; exit }
  if (b[59] != 10) bad("(no newline after the OSD uuid)")
  end = 66 + u32(62)
  if (end > n) bad("(its length runs past the first 4 KiB)")
  if (b[60] < 2) bad("(label version " b[60] ", which has no meta map and so no ceph_fsid)")
  o = 98
  if (o + 4 > end || o + 4 + u32(o) > end) bad("(its description runs past the label)")
  o += 4 + u32(o)
  if (o + 4 > end) bad("(no meta map)")
  count = u32(o)
  o += 4
  for (k = 0; k < count; k++) {
    if (o + 4 > end || o + 4 + u32(o) > end) bad("(its meta map runs past the label)")
    key = text(o + 4, u32(o))
    o += 4 + u32(o)
    if (o + 4 > end || o + 4 + u32(o) > end) bad("(its meta map runs past the label)")
    meta[key] = text(o + 4, u32(o))
    o += 4 + u32(o)
  }
  if (!("ceph_fsid" in meta)) bad("(no ceph_fsid in its meta map: an OSD whose creation did not finish)")
  print "bluestore", meta["ceph_fsid"], (("whoami" in meta) ? meta["whoami"] : "-"), text(23, 36)
}'
}

# yes when the first MiB of $1 is all zeroes (Rook's quick cleanup zeroes more than that)
blank_start() {
  [ "$(head -c 1048576 "$1" | tr -d '\0' | wc -c)" = 0 ]
}

# What blkid finds at the start of $1, e.g. "a partition table (blkid: PTTYPE=gpt)"; nothing when it finds nothing
signature_of() {
  local found
  command -v blkid >/dev/null 2>&1 || return 0
  found=$(blkid -p -o export "$1" 2>/dev/null | sed -n 's/^PTTYPE=//p' || true)
  if [ -n "$found" ]; then echo "a partition table (blkid: PTTYPE=$found)"; return 0; fi
  found=$(blkid -p -o export "$1" 2>/dev/null | sed -n 's/^TYPE=//p' || true)
  if [ -n "$found" ]; then echo "a signature (blkid: TYPE=$found)"; fi
  return 0
}

# pids of the ceph-osd processes on this node that hold the block device MAJ:MIN $1 open
osd_holding() {
  local pid fd
  command -v pgrep >/dev/null 2>&1 || return 0
  for pid in $(pgrep -x ceph-osd || true); do
    for fd in /proc/"$pid"/fd/*; do
      if [ -b "$fd" ] && [ "$(dev_number "$fd" 2>/dev/null || true)" = "$1" ]; then
        echo "$pid"
        break
      fi
    done
  done
}

# the cluster being destroyed, as this node recorded it once Ceph was healthy
recorded=""
for file in /etc/homelab/ceph/fsid-destroyed /etc/homelab/ceph/fsid; do
  if [ -r "$file" ]; then recorded="$recorded $(cat "$file")"; fi
done
refused=0

refuse() {
  echo "NOT wiping $1 on home-server-1: $2; it was left as it was" >&2
  refused=$((refused + 1))
}

wipe_device() {
  local device=$1 real reasons label fsid whoami what size mib
  if [ ! -e "$device" ]; then
    echo "$device is not on home-server-1: nothing to wipe"
    return 0
  fi
  reasons=$(disk_problems "$device" | paste -sd';' - | sed 's/;/; /g')
  if [ -n "$reasons" ]; then refuse "$device" "it $reasons"; return 0; fi
  real=$(readlink -f "$device")
  if blank_start "$real"; then
    echo "$device is blank at its start already (Rook's cleanup zeroes it): nothing to wipe"
    return 0
  fi
  label=$(bluestore_label "$real")
  case $label in
    "bluestore "*) read -r _ fsid whoami _ <<<"$label" ;;
    "unreadable "*) refuse "$device" "it starts with a BlueStore label that names no cluster ${label#unreadable }"; return 0 ;;
    *)
      what=$(signature_of "$real")
      refuse "$device" "its start is not a Ceph BlueStore label${what:+ but $what}"
      return 0 ;;
  esac
  if [ -z "$recorded" ]; then
    refuse "$device" "its label names osd.$whoami of Ceph cluster $fsid, but home-server-1 has no recorded fsid (/etc/homelab/ceph/fsid-destroyed or /etc/homelab/ceph/fsid, written once Ceph was healthy) to tell this stack's cluster from another. If the disk is this stack's, wipe it by hand as root on home-server-1: dd if=/dev/zero of=$device bs=1M count=100 conv=fsync"
    return 0
  fi
  if [[ " $recorded " != *" $fsid "* ]]; then
    refuse "$device" "its label names osd.$whoami of Ceph cluster $fsid, not the one home-server-1 recorded for this stack (${recorded# })"
    return 0
  fi
  size=$(blockdev --getsize64 "$real")
  mib=$((size / 1048576))
  [ "$mib" -gt 100 ] && mib=100
  dd if=/dev/zero of="$real" bs=1M count="$mib" conv=notrunc,fsync status=none
  echo "zeroed the first $mib MiB of $device (osd.$whoami of Ceph cluster $fsid): its BlueStore label is gone"
  # Ceph 19.2.1 and later copy the label to 1, 10, 100 and 1000 GiB (those the disk reaches) and would read
  # it back from there: each copy of this very label goes too, and nothing else at those places
  for gib in 1 10 100 1000; do
    [ $((gib * 1073741824 + 4096)) -le "$size" ] || break
    if [ "$(bluestore_label "$real" $((gib * 1073741824 / 4096)))" = "$label" ]; then
      dd if=/dev/zero of="$real" bs=4096 seek=$((gib * 1073741824 / 4096)) count=1 conv=notrunc,fsync status=none
      echo "zeroed the copy of that label at $gib GiB of $device"
    fi
  done
}

for device in /dev/disk/by-id/ata-WDC_1 /dev/sdc; do
  wipe_device "$device"
done
if [ "$refused" -gt 0 ]; then
  echo "$refused OSD device(s) on home-server-1 were refused and keep their data (above); the destroy goes on, as running it again cannot change that" >&2
fi

# Rook's cleanup leaves the directory itself; so does this
if [ -d /var/lib/rook ] && [ -n "$(find /var/lib/rook -mindepth 1 -print -quit)" ]; then
  find /var/lib/rook -mindepth 1 -delete
  echo "emptied /var/lib/rook on home-server-1"
else
  echo "/var/lib/rook on home-server-1 is empty already"
fi

# the record goes once no disk here can carry that cluster's data; a refused disk keeps it for later checks
if [ "${refused:-0}" = 0 ] && [ -e /etc/homelab/ceph/fsid-destroyed ]; then
  rm -f /etc/homelab/ceph/fsid-destroyed
  echo "forgot the destroyed cluster's fsid on home-server-1: none of its disks here carries it"
fi
