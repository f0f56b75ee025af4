// Pure renderers for what RookCeph runs on destroy: the guard that keeps Ceph while claims use it,
// the cleanup policy that makes Rook wipe the disks, the wait for Rook's cleanup jobs, and each
// node's own wipe of what those jobs left. The steps that run the last three exist whatever
// wipeDisksOnDestroy says; the flag is rendered into their delete scripts, so turning it on or off
// only edits what a later destroy will do (an update that runs nothing), and a destroy wipes only
// with the flag on as the last up recorded it.
import { exitWhenClusterGone, KUBECTL_FUNCTION } from "../kubectl";
import { script, shellQuote } from "../script";
import { DESTROYED_FSID_FILE, DISK_FUNCTIONS, FSID_FILE, handWipeCommand, LABEL_BYTES } from "./disks";
import { BLOCK_POOL, CLUSTER_NAME, DATA_DIR_HOST_PATH, FILESYSTEM, NAMESPACE, RookSpec, WAIT_SECONDS } from "./render";

type WipeFlag = Pick<RookSpec, "wipeDisksOnDestroy">;

const KEPT = "wipeDisksOnDestroy was off at the last up";

/** Rook's cleanup policy that wipes dataDirHostPath and zeroes the start of each OSD disk once the cluster is deleted. */
export const WIPE_POLICY = { confirmation: "yes-really-destroy-data", sanitizeDisks: { method: "quick", dataSource: "zero", iteration: 1 } };

/**
 * Run on delete, after the pools and the filesystem are gone and before the CephCluster is deleted:
 * sets the cleanup policy, which Rook acts on when the cluster is deleted (and which would stop it
 * managing a live cluster, so it is never set before). With the flag off it sets nothing. It refuses
 * while any CephBlockPool or CephFilesystem is left: then the CephCluster is not about to go (Rook
 * keeps a cluster that still has them), and the policy would stop Rook managing a live cluster.
 */
export function renderCleanupArmScript(spec: WipeFlag): string {
    if (!spec.wipeDisksOnDestroy) {
        return script(`echo "${KEPT}: the cleanup policy is not set, and deleting the CephCluster leaves the data on the OSD disks"`);
    }
    const patch = JSON.stringify({ spec: { cleanupPolicy: WIPE_POLICY } });
    return script(
        KUBECTL_FUNCTION,
        exitWhenClusterGone("nothing to arm"),
        `if ! kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} >/dev/null 2>&1; then
  echo "no CephCluster ${CLUSTER_NAME}; nothing to arm"
  exit 0
fi
left=$(kc -n ${NAMESPACE} get cephblockpools,cephfilesystems -o name | paste -sd' ' -)
if [ -n "$left" ]; then
  echo "not arming Rook's disk wipe: $left still exist(s), so the CephCluster is not being deleted (this step runs after ${BLOCK_POOL} and ${FILESYSTEM} are gone); the cleanup policy would stop Rook managing a live cluster. Nothing was set." >&2
  exit 1
fi
kc -n ${NAMESPACE} patch cephcluster ${CLUSTER_NAME} --type merge -p ${shellQuote(patch)} >/dev/null
echo "cleanup policy set: deleting the CephCluster now wipes the OSD disks and ${DATA_DIR_HOST_PATH} on every node"`,
    );
}

const CLEANUP_JOB_PREFIX = "cluster-cleanup-job-";
const CLEANUP_APPEAR_TRIES = 18;
const CLEANUP_FINISH_TRIES = 60;

/**
 * Run on delete, after the CephCluster is gone and before the operator is: waits for Rook's
 * cleanup jobs (one per node) to wipe the disks, so the operator is not removed under them. When
 * Rook starts none, or they do not finish, the destroy goes on: each node's wipe
 * (renderNodeWipeScript), next, does their work.
 */
export function renderCleanupWaitScript(spec: WipeFlag): string {
    if (!spec.wipeDisksOnDestroy) return script(`echo "${KEPT}: Rook was not asked to wipe the disks, so there are no cleanup jobs to wait for"`);
    const jobs = `kc -n ${NAMESPACE} get jobs -o jsonpath='{range .items[*]}{.metadata.name} {.status.succeeded}{"\\n"}{end}' 2>/dev/null | grep '^${CLEANUP_JOB_PREFIX}' || true`;
    return script(
        KUBECTL_FUNCTION,
        exitWhenClusterGone("no Rook cleanup to wait for"),
        `# the operator starts the jobs once the CephCluster with its cleanup policy is deleted
for attempt in $(seq 1 ${CLEANUP_APPEAR_TRIES}); do
  jobs=$(${jobs})
  [ -n "$jobs" ] && break
  echo "[$attempt/${CLEANUP_APPEAR_TRIES}] waiting for Rook to start its cleanup jobs"
  sleep ${WAIT_SECONDS}
done
if [ -z "$jobs" ]; then
  echo "Rook started no cleanup jobs in ${(CLEANUP_APPEAR_TRIES * WAIT_SECONDS) / 60} minutes (kubectl -n ${NAMESPACE} logs deploy/rook-ceph-operator may say why): each node's wipe step, next, wipes its OSD disks and ${DATA_DIR_HOST_PATH}"
  exit 0
fi
for attempt in $(seq 1 ${CLEANUP_FINISH_TRIES}); do
  jobs=$(${jobs})
  pending=$(echo "$jobs" | awk '$2 != "1" { print $1 }')
  if [ -z "$pending" ]; then
    echo "Rook wiped the disks and ${DATA_DIR_HOST_PATH}: $(echo "$jobs" | awk '{ print $1 }' | paste -sd' ' -)"
    exit 0
  fi
  echo "[$attempt/${CLEANUP_FINISH_TRIES}] cleanup jobs still running: $(echo "$pending" | paste -sd' ' -)"
  sleep ${WAIT_SECONDS}
done
echo "Rook's cleanup jobs did not finish in ${(CLEANUP_FINISH_TRIES * WAIT_SECONDS) / 60} minutes ($(echo "$pending" | paste -sd' ' -)): each node's wipe step, next, wipes what they left"`,
    );
}

/**
 * Run on delete, before the storage classes and the pools: stops the destroy, before it touches
 * Ceph, while volumes of the two classes exist. Deleting them is the user's call (their data goes
 * with Ceph), and Rook would keep the pools that hold them, so the destroy would hang half done.
 */
export function renderClaimsGuardScript(spec: Pick<RookSpec, "blockStorageClass" | "filesystemStorageClass">): string {
    const classes = [spec.blockStorageClass, spec.filesystemStorageClass];
    const list = (kind: string, label: string, name: string) =>
        `kc --request-timeout=20s get ${kind} -o jsonpath='{range .items[*]}${label} {.spec.storageClassName} ${name}{"\\n"}{end}'`;
    return script(
        KUBECTL_FUNCTION,
        exitWhenClusterGone("no volumes to look for"),
        `# claims, bound or not, and volumes (a released one can outlive its claim), of these classes only
listed=$(${list("pvc -A", "claim", "{.metadata.namespace}/{.metadata.name}")})
listed="$listed
$(${list("pv", "volume", "{.metadata.name}")})"
in_use=$(echo "$listed" | awk -v classes=${shellQuote(classes.join(" "))} 'BEGIN { n = split(classes, c, " "); for (i = 1; i <= n; i++) ours[c[i]] = 1 } NF == 3 && ($2 in ours) { print $1 " " $3 " (" $2 ")" }')
if [ -z "$in_use" ]; then
  echo "no claim or volume uses ${classes.join(" or ")}: Ceph can go"
  exit 0
fi
echo "destroy stopped before touching Ceph: these still use ${classes.join(" or ")}:" >&2
echo "$in_use" | sed 's/^/  /' >&2
echo "Their data goes with Ceph. If that is what you want, delete the claims (kubectl delete pvc -n NAMESPACE NAME; their volumes follow) and run the destroy again." >&2
exit 1`,
    );
}

/** Rounds of WAIT_SECONDS a node's wipe gives Ceph's daemons there to stop once the CephCluster is deleted. */
const DAEMONS_STOP_TRIES = 30;
/** How much of the start of each OSD disk a node's wipe zeroes: BlueStore's label and more, as Rook's own cleanup guide does. */
const WIPE_MIB = 100;
/** Where Ceph 19.2.1 and later keep copies of an OSD's label, in GiB from the disk's start (BlueStore's multi-label). */
const LABEL_COPIES_GIB = [1, 10, 100, 1000];

/**
 * Run on delete on every node, after the wait for Rook's cleanup jobs; with the flag off it only
 * says the data stays. With it on: once no Ceph daemon runs on the node, zeroes the start of each
 * OSD disk that still carries this cluster's BlueStore label, and empties dataDirHostPath. After
 * Rook's jobs this finds nothing to do; when Rook started none (seen in the lab: a destroy that
 * could not arm the cleanup policy), it does their work, so a destroy ends with blank disks either
 * way and never hangs on Rook.
 *
 * A device is zeroed only when it is a whole block device that nothing else uses (disk_problems)
 * and its label's ceph_fsid is the one recorded on this node for the cluster being destroyed
 * (renderFsidRecordScript, renderFsidRetireScript). Anything else is refused by name with the
 * reason, on stderr, and left as it was; the step still succeeds, since a retry cannot change the
 * answer and the data is kept. Ceph daemons still running fail it, as a retry can help there.
 */
export function renderNodeWipeScript(node: { hostname: string; osdDevices: string[] }, spec: WipeFlag): string {
    if (!spec.wipeDisksOnDestroy) {
        return script(`echo "${KEPT}: the OSD disks and ${DATA_DIR_HOST_PATH} on ${node.hostname} keep Ceph's data; nothing was wiped"`);
    }
    const devices = node.osdDevices.map(shellQuote).join(" ");
    return script(
        `# deleting the CephCluster stops the node's Ceph daemons; a disk still in use is not touched
command -v pgrep >/dev/null 2>&1 || { echo "pgrep (procps) is missing on ${node.hostname}: cannot tell whether Ceph still runs there; nothing was wiped" >&2; exit 1; }
for attempt in $(seq 1 ${DAEMONS_STOP_TRIES}); do
  daemons=$(pgrep -x 'ceph-(mon|mgr|osd|mds)' | paste -sd' ' - || true)
  [ -z "$daemons" ] && break
  echo "[$attempt/${DAEMONS_STOP_TRIES}] waiting for Ceph's daemons on ${node.hostname} to stop (pids $daemons)"
  sleep ${WAIT_SECONDS}
done
if [ -n "$daemons" ]; then
  echo "Ceph's daemons still run on ${node.hostname} (pids $daemons) ${(DAEMONS_STOP_TRIES * WAIT_SECONDS) / 60} minutes after the CephCluster was deleted: its OSD disks and ${DATA_DIR_HOST_PATH} were NOT wiped; the next destroy tries again" >&2
  exit 1
fi`,
        node.osdDevices.length === 0 ? `# ${node.hostname} has no OSD disks` : `${DISK_FUNCTIONS}

# the cluster being destroyed, as this node recorded it once Ceph was healthy
recorded=""
for file in ${DESTROYED_FSID_FILE} ${FSID_FILE}; do
  if [ -r "$file" ]; then recorded="$recorded $(cat "$file")"; fi
done
refused=0

refuse() {
  echo "NOT wiping $1 on ${node.hostname}: $2; it was left as it was" >&2
  refused=$((refused + 1))
}

wipe_device() {
  local device=$1 real reasons label fsid whoami what size mib
  if [ ! -e "$device" ]; then
    echo "$device is not on ${node.hostname}: nothing to wipe"
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
    "unreadable "*) refuse "$device" "it starts with a BlueStore label that names no cluster \${label#unreadable }"; return 0 ;;
    *)
      what=$(signature_of "$real")
      refuse "$device" "its start is not a Ceph BlueStore label\${what:+ but $what}"
      return 0 ;;
  esac
  if [ -z "$recorded" ]; then
    refuse "$device" "its label names osd.$whoami of Ceph cluster $fsid, but ${node.hostname} has no recorded fsid (${DESTROYED_FSID_FILE} or ${FSID_FILE}, written once Ceph was healthy) to tell this stack's cluster from another. If the disk is this stack's, wipe it by hand as root on ${node.hostname}: ${handWipeCommand("$device")}"
    return 0
  fi
  if [[ " $recorded " != *" $fsid "* ]]; then
    refuse "$device" "its label names osd.$whoami of Ceph cluster $fsid, not the one ${node.hostname} recorded for this stack (\${recorded# })"
    return 0
  fi
  size=$(blockdev --getsize64 "$real")
  mib=$((size / 1048576))
  [ "$mib" -gt ${WIPE_MIB} ] && mib=${WIPE_MIB}
  dd if=/dev/zero of="$real" bs=1M count="$mib" conv=notrunc,fsync status=none
  echo "zeroed the first $mib MiB of $device (osd.$whoami of Ceph cluster $fsid): its BlueStore label is gone"
  # Ceph 19.2.1 and later copy the label to 1, 10, 100 and 1000 GiB (those the disk reaches) and would read
  # it back from there: each copy of this very label goes too, and nothing else at those places
  for gib in ${LABEL_COPIES_GIB.join(" ")}; do
    [ $((gib * 1073741824 + ${LABEL_BYTES})) -le "$size" ] || break
    if [ "$(bluestore_label "$real" $((gib * 1073741824 / ${LABEL_BYTES})))" = "$label" ]; then
      dd if=/dev/zero of="$real" bs=${LABEL_BYTES} seek=$((gib * 1073741824 / ${LABEL_BYTES})) count=1 conv=notrunc,fsync status=none
      echo "zeroed the copy of that label at $gib GiB of $device"
    fi
  done
}

for device in ${devices}; do
  wipe_device "$device"
done
if [ "$refused" -gt 0 ]; then
  echo "$refused OSD device(s) on ${node.hostname} were refused and keep their data (above); the destroy goes on, as running it again cannot change that" >&2
fi`,
        `# Rook's cleanup leaves the directory itself; so does this
if [ -d ${DATA_DIR_HOST_PATH} ] && [ -n "$(find ${DATA_DIR_HOST_PATH} -mindepth 1 -print -quit)" ]; then
  find ${DATA_DIR_HOST_PATH} -mindepth 1 -delete
  echo "emptied ${DATA_DIR_HOST_PATH} on ${node.hostname}"
else
  echo "${DATA_DIR_HOST_PATH} on ${node.hostname} is empty already"
fi`,
        `# the record goes once no disk here can carry that cluster's data; a refused disk keeps it for later checks
if [ "\${refused:-0}" = 0 ] && [ -e ${DESTROYED_FSID_FILE} ]; then
  rm -f ${DESTROYED_FSID_FILE}
  echo "forgot the destroyed cluster's fsid on ${node.hostname}: none of its disks here carries it"
fi`,
    );
}
