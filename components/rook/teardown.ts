// Pure renderers for what RookCeph runs on destroy: the guard that keeps Ceph while claims use it,
// the cleanup policy that makes Rook wipe the disks, the wait for Rook's cleanup jobs, and each
// node's own wipe of what those jobs left.
import { exitWhenClusterGone, KUBECTL_FUNCTION } from "../kubectl";
import { script, shellQuote } from "../script";
import { CLUSTER_NAME, DATA_DIR_HOST_PATH, NAMESPACE, RookSpec, WAIT_SECONDS } from "./render";

/** Rook's cleanup policy that wipes dataDirHostPath and zeroes the start of each OSD disk once the cluster is deleted. */
export const WIPE_POLICY = { confirmation: "yes-really-destroy-data", sanitizeDisks: { method: "quick", dataSource: "zero", iteration: 1 } };

/**
 * Run on delete, after the pools and the filesystem are gone and before the CephCluster is deleted:
 * sets the cleanup policy, which Rook acts on when the cluster is deleted (and which would stop it
 * managing a live cluster, so it is never set before).
 */
export function renderCleanupArmScript(): string {
    const patch = JSON.stringify({ spec: { cleanupPolicy: WIPE_POLICY } });
    return script(
        KUBECTL_FUNCTION,
        exitWhenClusterGone("nothing to arm"),
        `if ! kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} >/dev/null 2>&1; then
  echo "no CephCluster ${CLUSTER_NAME}; nothing to arm"
  exit 0
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
export function renderCleanupWaitScript(): string {
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

/**
 * Run on delete on every node when the stack wipes on destroy, after the wait for Rook's cleanup
 * jobs: zeroes the start of each OSD disk that still has data there, and empties
 * dataDirHostPath. After Rook's jobs this finds nothing to do; when Rook started none (seen in
 * the lab: a destroy that could not arm the cleanup policy), it does their work, so a destroy
 * ends with blank disks either way and never hangs on Rook.
 */
export function renderNodeWipeScript(node: { hostname: string; osdDevices: string[] }): string {
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
        node.osdDevices.length === 0 ? `# ${node.hostname} has no OSD disks` : `for device in ${devices}; do
  if [ ! -e "$device" ]; then
    echo "$device is not on ${node.hostname}: nothing to wipe"
    continue
  fi
  if [ "$(head -c 1048576 "$device" | tr -d '\\0' | wc -c)" = 0 ]; then
    echo "$device is blank at its start already (Rook's cleanup zeroes it): nothing to wipe"
    continue
  fi
  size=$(blockdev --getsize64 "$device" 2>/dev/null || stat -L -c %s "$device")
  mib=$((size / 1048576))
  [ "$mib" -gt ${WIPE_MIB} ] && mib=${WIPE_MIB}
  dd if=/dev/zero of="$device" bs=1M count="$mib" conv=notrunc,fsync status=none
  echo "zeroed the first $mib MiB of $device: no Ceph label is left on it"
done`,
        `# Rook's cleanup leaves the directory itself; so does this
if [ -d ${DATA_DIR_HOST_PATH} ] && [ -n "$(find ${DATA_DIR_HOST_PATH} -mindepth 1 -print -quit)" ]; then
  find ${DATA_DIR_HOST_PATH} -mindepth 1 -delete
  echo "emptied ${DATA_DIR_HOST_PATH} on ${node.hostname}"
else
  echo "${DATA_DIR_HOST_PATH} on ${node.hostname} is empty already"
fi`,
    );
}
