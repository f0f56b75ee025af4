#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

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

if [ ! -f /etc/homelab/ceph/fsid ]; then
  echo "no Ceph fsid is recorded on home-server-1: nothing to retire"
  exit 0
fi
recorded=$(cat /etc/homelab/ceph/fsid)

disks_fsid=""
disks_labels=""
for device in /dev/disk/by-id/ata-WDC_1 /dev/sdc; do
  label=$(bluestore_label "$(readlink -f "$device")" 2>/dev/null || echo "unreadable (cannot read it)")
  disks_labels="$disks_labels $device: $label;"
  case $label in "bluestore "*) ;; *) continue ;; esac
  read -r _ found _ <<<"$label"
  if [ -n "$disks_fsid" ] && [ "$found" != "$disks_fsid" ]; then
    echo "the OSD disks of home-server-1 name two Ceph clusters:$disks_labels" >&2
    exit 1
  fi
  disks_fsid=$found
done

if [ -n "$disks_fsid" ] && [ "$disks_fsid" != "$recorded" ]; then
  echo "/etc/homelab/ceph/fsid on home-server-1 names Ceph cluster $recorded, but its disks carry cluster $disks_fsid's labels: the record is left as it is"
  exit 0
fi
mv -f /etc/homelab/ceph/fsid /etc/homelab/ceph/fsid-destroyed
echo "Ceph cluster $recorded is being destroyed: its fsid moved to /etc/homelab/ceph/fsid-destroyed on home-server-1, for the disk wipe and for later device checks"
