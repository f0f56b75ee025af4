// Pure renderers for what RookCeph does about the OSD disks themselves: the check of each node's
// osdDevices before Rook sees them, the record of the cluster's fsid on every node, and the bash
// that those and the destroy-time wipe (./teardown) share to tell a disk Ceph may take (or wipe)
// from one that holds something else. No Pulumi SDK here.
import { script, shellQuote } from "../script";

/** Where every node keeps the fsid of the Ceph cluster its OSD disks belong to (root only). */
export const FSID_DIR = "/etc/homelab/ceph";
/** The fsid of the running cluster, written once it is healthy. */
export const FSID_FILE = `${FSID_DIR}/fsid`;
/** The fsid of the cluster a destroy deleted: the wipe still needs it, and a later check recognises disks that kept its data. */
export const DESTROYED_FSID_FILE = `${FSID_DIR}/fsid-destroyed`;
/** How much of the start of a disk BlueStore's label takes (BDEV_LABEL_BLOCK_SIZE in Ceph's bluestore_types.h). */
export const LABEL_BYTES = 4096;

/** A Ceph fsid (a uuid, as `ceph fsid` prints it), as an extended regular expression for bash's =~ and JavaScript alike. */
export const FSID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
const UUID = new RegExp(FSID_PATTERN);

/** A Ceph fsid as the CephCluster reports it, e.g. 8f2a5c1e-0c55-4b41-9d0a-3f0e1c2b4a6d. */
export function isFsid(value: string | undefined): value is string {
    return value !== undefined && UUID.test(value);
}

/**
 * Decodes a BlueStore label from the bytes of a disk's first 4 KiB (od -t u1), as Ceph writes it
 * (bluestore_bdev_label_t::encode in src/os/bluestore/bluestore_types.cc, padded to 4 KiB after a
 * crc32c by BlueStore::_write_bdev_label): "bluestore block device\n", the OSD's uuid as text and
 * "\n" (60 bytes); then ENCODE_START(2, 1): struct_v and compat (u8 each) and the length of what
 * follows (u32 LE); then osd_uuid (16 raw bytes), size (u64), btime (u32 s, u32 ns), description
 * (u32 length + bytes) and, from struct_v 2, meta: a u32 count of (u32 length + bytes) key and value
 * strings, where an OSD's mkfs puts ceph_fsid and whoami (OSD::write_meta, stored in the label by
 * BlueStore::write_meta). Prints "bluestore FSID WHOAMI OSD_UUID" (whoami "-" when missing),
 * "unreadable (WHY)" for the magic without a label that names its cluster, or "none". Every length
 * is checked against the struct's before it is read. Written for mawk, Debian's awk (no bit
 * operations); it never prints the other keys (osd_key is the OSD's secret).
 */
const LABEL_AWK = `{ for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
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
}`;

/**
 * Bash functions for the check and the wipe. Everything is looked up by the device's major:minor
 * (/sys/dev/block, mountinfo, /proc/swaps), so a /dev/disk/by-id/... path and /dev/sdb are the same
 * disk, and a mount through any name of it is seen.
 */
export const DISK_FUNCTIONS = `# MAJ:MIN (decimal) of the block device $1
dev_number() {
  local hex
  hex=$(stat -L -c '%t %T' "$1") || return 1
  printf '%d:%d\\n' "0x\${hex% *}" "0x\${hex#* }"
}

# MAJ:MIN of every whole disk under the block device MAJ:MIN $1: itself, the disk of a partition,
# and through slaves the disks below device-mapper (LVM, dm-crypt) or md
disks_under() {
  local sys slave
  sys=$(readlink -f "/sys/dev/block/$1" 2>/dev/null) || return 0
  [ -d "$sys" ] || return 0
  if [ -e "$sys/partition" ]; then sys=\${sys%/*}; fi
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
    parent=\${sys%/*}
    echo "is partition \${sys##*/} of \${parent##*/}, not a whole disk"
    return 0
  fi
  numbers=" $number "
  for entry in "$sys"/*/partition; do
    [ -e "$entry" ] || continue
    entry=\${entry%/partition}
    partitions="$partitions \${entry##*/}"
    numbers="$numbers$(cat "$entry/dev") "
  done
  if [ -n "$partitions" ]; then echo "has partitions:$partitions"; fi
  for entry in "$sys"/holders/* "$sys"/*/holders/*; do
    [ -e "$entry" ] || continue
    if [ -r "$entry/dm/name" ]; then holders="$holders \${entry##*/} ($(cat "$entry/dm/name"))"; else holders="$holders \${entry##*/}"; fi
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

# The BlueStore label at the start of block device $1 (or $2 blocks of ${LABEL_BYTES} bytes in, where Ceph 19.2.1 and
# later keep copies): "bluestore FSID WHOAMI OSD_UUID", "unreadable WHY" or "none"
bluestore_label() {
  dd if="$1" bs=${LABEL_BYTES} skip="\${2:-0}" count=1 status=none | od -An -v -t u1 | LC_ALL=C awk '
${LABEL_AWK}'
}

# yes when the first MiB of $1 is all zeroes (Rook's quick cleanup zeroes more than that)
blank_start() {
  [ "$(head -c 1048576 "$1" | tr -d '\\0' | wc -c)" = 0 ]
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
}`;

/** The per-device position in the stack's config, e.g. nodes[0].osdDevices[1]. */
function configKey(nodeIndex: number, deviceIndex: number): string {
    return `nodes[${nodeIndex}].osdDevices[${deviceIndex}]`;
}

/** The command that wipes a disk by hand, as the wipe on destroy does: its first 100 MiB, where the BlueStore label is. */
export function handWipeCommand(device: string): string {
    return `dd if=/dev/zero of=${device} bs=1M count=100 conv=fsync`;
}

/**
 * Run on create on every node with osdDevices, before the operator: every device must be a whole
 * disk that nothing else uses (no partitions, holders, mounts, swap, not the disk of /), blank or
 * carrying a BlueStore label of this stack's cluster (recorded fsid, or open by a running ceph-osd
 * here: a live OSD on a stack created before the record existed). Every problem on the node is
 * reported at once, by config key, and nothing is changed on the node.
 */
export function renderDeviceCheckScript(node: { hostname: string; osdDevices: string[] }, nodeIndex: number): string {
    const checks = node.osdDevices.map((device, index) => `check_device ${shellQuote(configKey(nodeIndex, index))} ${shellQuote(device)}`).join("\n");
    return script(
        DISK_FUNCTIONS,
        `live_fsid=$(cat ${FSID_FILE} 2>/dev/null || true)
destroyed_fsid=$(cat ${DESTROYED_FSID_FILE} 2>/dev/null || true)
problems=""
accepted=""
seen=" "

problem() { problems="$problems  $1 $2: $3
"; }

check_device() {
  local key=$1 device=$2 real number reasons label fsid whoami pids what
  if [ ! -e "$device" ]; then problem "$key" "$device" "does not exist on ${node.hostname}"; return 0; fi
  reasons=$(disk_problems "$device")
  if [ -n "$reasons" ]; then
    while read -r what; do problem "$key" "$device" "$what"; done <<<"$reasons"
    return 0
  fi
  real=$(readlink -f "$device")
  number=$(dev_number "$real")
  if [[ $seen == *" $number="* ]]; then
    what=\${seen#*" $number="}
    problem "$key" "$device" "is the same disk as \${what%% *} ($real)"
    return 0
  fi
  seen="$seen$number=$key "
  if blank_start "$real"; then accepted="$accepted $device (blank)"; return 0; fi
  label=$(bluestore_label "$real")
  case $label in
    "bluestore "*)
      read -r _ fsid whoami _ <<<"$label"
      pids=$(osd_holding "$number" | paste -sd' ' -)
      if [ -n "$pids" ]; then
        accepted="$accepted $device (osd.$whoami, open by ceph-osd pid $pids)"
      elif [ -n "$live_fsid" ] && [ "$fsid" = "$live_fsid" ]; then
        accepted="$accepted $device (osd.$whoami of this cluster, $fsid)"
      elif [ -n "$destroyed_fsid" ] && [ "$fsid" = "$destroyed_fsid" ]; then
        problem "$key" "$device" "holds osd.$whoami of the Ceph cluster this stack destroyed (fsid $fsid), whose data that destroy kept (wipeDisksOnDestroy off, or its wipe refused the disk); Rook does not take another cluster's OSD. If that data may go, wipe it by hand as root on ${node.hostname}: ${handWipeCommand("$device")}"
      else
        problem "$key" "$device" "holds osd.$whoami of another Ceph cluster (fsid $fsid; this node's record: \${live_fsid:-none}). If that data may go, wipe it by hand as root on ${node.hostname}: ${handWipeCommand("$device")}"
      fi ;;
    "unreadable "*)
      problem "$key" "$device" "starts with a BlueStore label that names no cluster \${label#unreadable }; if that data may go, wipe it by hand as root on ${node.hostname}: ${handWipeCommand("$device")}" ;;
    *)
      what=$(signature_of "$real")
      if [ -n "$what" ]; then
        problem "$key" "$device" "carries $what, not a Ceph BlueStore label; if that data may go, remove it by hand as root on ${node.hostname}: wipefs -a $device"
      else
        accepted="$accepted $device (data without a known signature, which Rook may take)"
      fi ;;
  esac
}`,
        checks,
        `if [ -n "$problems" ]; then
  {
    echo "${node.hostname}: these OSD devices cannot be given to Ceph; nothing was changed on the node:"
    printf '%s' "$problems"
    echo "Fix the disks, or the devices in the stack config (whole disks, best named /dev/disk/by-id/...), then run pulumi up again."
  } >&2
  exit 1
fi
echo "${node.hostname}: OSD devices checked:$accepted"`,
    );
}

/** The fsid the wait step prints once Ceph is healthy, e.g. "Ceph fsid: 8f2a5c1e-…" (for the reader of its log). */
export const FSID_LINE_PREFIX = "Ceph fsid: ";

/**
 * Bash that sets $disks_fsid to the cluster the node's OSD disks are labelled with ("" when none
 * carries a label) and $disks_labels to what each says; fails when two disks name two clusters.
 */
function disksFsidSection(node: { hostname: string; osdDevices: string[] }): string {
    return `disks_fsid=""
disks_labels=""
for device in ${node.osdDevices.map(shellQuote).join(" ")}; do
  label=$(bluestore_label "$(readlink -f "$device")" 2>/dev/null || echo "unreadable (cannot read it)")
  disks_labels="$disks_labels $device: $label;"
  case $label in "bluestore "*) ;; *) continue ;; esac
  read -r _ found _ <<<"$label"
  if [ -n "$disks_fsid" ] && [ "$found" != "$disks_fsid" ]; then
    echo "the OSD disks of ${node.hostname} name two Ceph clusters:$disks_labels" >&2
    exit 1
  fi
  disks_fsid=$found
done`;
}

/**
 * Run on create on every node with OSD disks once the wait has seen Ceph healthy with one OSD up
 * and in for every disk of the stack: at that moment each disk's BlueStore label names this
 * stack's cluster, and its fsid is recorded (root only), so a later device check and the
 * destroy-time wipe can tell this cluster's OSD disks from any other's. Read on the node itself,
 * not from another step's output, so that nothing here depends on how that step was last run.
 */
export function renderFsidRecordScript(node: { hostname: string; osdDevices: string[] }): string {
    return script(
        DISK_FUNCTIONS,
        disksFsidSection(node),
        `for device in ${node.osdDevices.map(shellQuote).join(" ")}; do
  case $(bluestore_label "$(readlink -f "$device")" 2>/dev/null || true) in
    "bluestore "*) ;;
    *) echo "$device on ${node.hostname} carries no BlueStore label that names a cluster, though Ceph is healthy with an OSD on every disk:$disks_labels nothing recorded" >&2; exit 1 ;;
  esac
done
if [ "$(cat ${FSID_FILE} 2>/dev/null || true)" = "$disks_fsid" ]; then
  echo "${node.hostname} has recorded Ceph fsid $disks_fsid already"
else
  install -d -m 700 ${FSID_DIR}
  (umask 077 && printf '%s\\n' "$disks_fsid" > ${FSID_FILE}.new)
  mv -f ${FSID_FILE}.new ${FSID_FILE}
  echo "recorded Ceph fsid $disks_fsid in ${FSID_FILE} on ${node.hostname}: the disk wipe on destroy takes only OSD disks labelled with it"
fi`,
    );
}

/**
 * Run on delete, first of Ceph's steps in a destroy (right after the claims guard): moves the record
 * aside, where the wipe (which runs after the CephCluster is deleted) still finds it, and where a
 * later device check recognises disks that kept this cluster's data. A record that the node's disks
 * contradict (they carry another cluster's label) is left alone.
 */
export function renderFsidRetireScript(node: { hostname: string; osdDevices: string[] }): string {
    return script(
        DISK_FUNCTIONS,
        `if [ ! -f ${FSID_FILE} ]; then
  echo "no Ceph fsid is recorded on ${node.hostname}: nothing to retire"
  exit 0
fi
recorded=$(cat ${FSID_FILE})`,
        disksFsidSection(node),
        `if [ -n "$disks_fsid" ] && [ "$disks_fsid" != "$recorded" ]; then
  echo "${FSID_FILE} on ${node.hostname} names Ceph cluster $recorded, but its disks carry cluster $disks_fsid's labels: the record is left as it is"
  exit 0
fi
mv -f ${FSID_FILE} ${DESTROYED_FSID_FILE}
echo "Ceph cluster $recorded is being destroyed: its fsid moved to ${DESTROYED_FSID_FILE} on ${node.hostname}, for the disk wipe and for later device checks"`,
    );
}
