// Pure: etcd snapshots of the cluster with its PKI, taken on a control plane and kept on the
// machine running Pulumi (./routine.js fetches them), and when one is due. Three stacked etcd
// members that lose two, or a corrupted data directory, lose every object; a snapshot and the
// keys that make the control planes trusted bring them back.
import { FSID_FILE } from "../rook/disks";
import { IN_ETCD } from "../etcd";
import { script, shellQuote } from "../script";

/** kubeadm's etcd pod mounts this host path at the same path in its container. */
const ETCD_DATA_DIR = "/var/lib/etcd";
/** Where a snapshot is assembled on the node; removed when the script ends, however it ends. */
export const SNAPSHOT_STAGING = "/var/lib/homelab/snapshot";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const names = require("./names.js") as { snapshotFileName(cluster: string, takenAt: Date): string; snapshotTakenAt(cluster: string, file: string): Date | undefined };
/** A snapshot's file name, e.g. homelab-etcd-20261205T235200Z.tar.gz: names sort by time. */
export const snapshotFileName = names.snapshotFileName;
/** When the snapshot in `file` was taken, if the name is one of this cluster's snapshots. */
export const snapshotTakenAt = names.snapshotTakenAt;

/**
 * Why a snapshot is to be taken by this up, or undefined when none is: none kept yet, the newest
 * older than `everyHours`, or a planned power-off about to begin (a risky step).
 */
export function snapshotDue(spec: { newest?: Date; everyHours: number; now: Date; powerOffPlanned: boolean }): string | undefined {
    const why = spec.powerOffPlanned ? "before the planned power-off"
        : !spec.newest ? "no snapshot kept yet"
            : spec.now.getTime() - spec.newest.getTime() >= spec.everyHours * 3_600_000 ? `the newest snapshot, taken ${spec.newest.toISOString()}, is older than ${spec.everyHours} h`
                : undefined;
    // the time makes each reason new, so that the same reason met again (every snapshot deleted twice) still takes one
    return why && `${why} (seen ${spec.now.toISOString()})`;
}

export interface SnapshotSpec {
    clusterName: string;
    /** How long to wait for this node's etcd member to run and answer healthy (after a power-on, say). */
    etcdTimeoutSeconds?: number;
}

/**
 * On a control plane: a snapshot of its etcd member (etcdctl of the etcd container, so that it is
 * the etcd the cluster runs), checked with `etcdutl snapshot status`, archived with this node's
 * /etc/kubernetes/pki and what says which cluster, node and time it is. stdout is the archive
 * (tar.gz) and nothing else; stderr carries the messages and, last, "archive-sha256 HEX" for the
 * copy to be checked against.
 */
export function renderSnapshotScript(spec: SnapshotSpec): string {
    const timeout = spec.etcdTimeoutSeconds ?? 600;
    const work = `${ETCD_DATA_DIR}/homelab-snapshot`;
    return script(`exec 3>&1 1>&2
host=$(hostname)
staging=${SNAPSHOT_STAGING}
archive="$staging.tar.gz"
# inside etcd's data directory, which its container sees at the same path
work=${work}
trap 'rm -rf "$staging" "$archive" "$work"' EXIT
rm -rf "$staging" "$archive" "$work"
install -d -m 700 "$staging" "$work"
${IN_ETCD}`, `# after a power-on etcd may still be starting: wait for this member to run and answer healthy
deadline=$(( $(date +%s) + ${timeout} ))
until pgrep -x etcd >/dev/null && etcdctl_ endpoint health >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$host: etcd does not run here or does not answer healthy after ${timeout} s (pgrep -x etcd; etcdctl endpoint health): no snapshot taken"
    exit 1
  fi
  sleep 5
done`, `# etcdctl logs every step of a save: shown only when it fails
saved=$(etcdctl_ snapshot save "$work/snapshot.db" 2>&1) || { echo "$host: etcdctl snapshot save failed: $saved"; exit 1; }
in_etcd etcdutl snapshot status "$work/snapshot.db" --write-out=json > "$staging/status.json"
grep -q '"revision"' "$staging/status.json" || { echo "$host: etcdutl snapshot status did not describe the snapshot: $(cat "$staging/status.json")"; exit 1; }
mv "$work/snapshot.db" "$staging/snapshot.db"
cp -a /etc/kubernetes/pki "$staging/pki"
# the Ceph cluster whose objects this snapshot holds (its fsid as this node's disks record it), or
# none: a restore checks it against the Ceph cluster running then
ceph=null
if [ -s ${FSID_FILE} ]; then ceph="{\\"fsid\\":\\"$(cat ${FSID_FILE})\\"}"; fi
printf '{"cluster":"%s","node":"%s","takenAt":"%s","etcd":%s,"ceph":%s}\\n' ${shellQuote(spec.clusterName)} "$host" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cat "$staging/status.json")" "$ceph" > "$staging/meta.json"
tar -C "$staging" -czf "$archive" meta.json status.json snapshot.db pki
echo "$host: snapshot of etcd at revision $(sed -n 's/.*"revision": *\\([0-9]*\\).*/\\1/p' "$staging/status.json"), $(stat -c %s "$staging/snapshot.db") bytes, with /etc/kubernetes/pki"
echo "archive-sha256 $(sha256sum < "$archive" | cut -d' ' -f1)"
cat "$archive" >&3`);
}
