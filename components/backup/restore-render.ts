// Pure: the scripts that restore an etcd snapshot on every control plane, in the order the
// Kubernetes documentation gives for a stacked etcd ("Restoring an etcd cluster"): every member's
// data is restored from the one snapshot before anything stops, then the API servers and etcd stop
// everywhere, the data is swapped, etcd starts again first, then the API servers, then the kubelets.
// etcdutl and etcdctl are etcd's own, run in its container's mount namespace (IN_ETCD).
// ./restore-routine.js runs them stage by stage, one stage on every node before the next; values
// known only then (the snapshot's sha256, the members) come as RESTORE_* assignments before a script.
import { FSID_FILE } from "../rook/disks";
import { script } from "../script";
import { IN_ETCD } from "../etcd";

/** Inside etcd's data directory, which its container sees at the same path (etcdutl runs there). */
export const RESTORE_WORK = "/var/lib/etcd/homelab-restore";
/** Where the control-plane manifests wait while etcd is swapped (out of the kubelet's sight). */
export const HELD_MANIFESTS = "/etc/kubernetes/homelab-restore-held";
const MANIFESTS = "/etc/kubernetes/manifests";
/** Stopped while etcd is swapped; etcd comes back first, the others after it. */
const HELD = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"];
/**
 * Restored revisions move past any the API servers and their clients saw, and older ones read as
 * compacted, so that watches start over instead of missing the change (etcd's advice for a restore
 * under Kubernetes: etcdutl snapshot restore --bump-revision --mark-compacted).
 */
const BUMP_REVISION = 1_000_000_000;

/** ssh's remote command that receives the snapshot on stdin (no secret in it; the snapshot is not one alone). */
export const RECEIVE_SNAPSHOT_COMMAND = `sudo -n sh -c 'umask 077 && mkdir -p ${RESTORE_WORK} && cat > ${RESTORE_WORK}/snapshot.db.part && mv ${RESTORE_WORK}/snapshot.db.part ${RESTORE_WORK}/snapshot.db'`;

const COMMON = `host=$(hostname)
fail() { echo "$host: $*" >&2; exit 1; }
${IN_ETCD}
# the member's name and peer URL as kubeadm wrote them, wherever the manifest is now
etcd_manifest() { if [ -f ${MANIFESTS}/etcd.yaml ]; then echo ${MANIFESTS}/etcd.yaml; else echo ${HELD_MANIFESTS}/etcd.yaml; fi; }
flag() { sed -n "s/^ *- --$1=//p" "$(etcd_manifest)" | head -n 1; }`;
/** Waits, bounded, for this node's etcd to run (etcdutl runs in its container, as the snapshot's etcdctl did). */
function waitForEtcd(timeoutSeconds: number, what: string): string {
    return `deadline=$(( $(date +%s) + ${timeoutSeconds} ))
until pgrep -x etcd >/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd does not run here after ${timeoutSeconds} s (pgrep -x etcd): ${what}"
  sleep 3
done`;
}

/**
 * Stage 1, on every control plane, changing nothing the cluster runs on: the snapshot received is
 * the one named (RESTORE_SHA), etcdutl reads it as an etcd snapshot, and this member's name and peer
 * URL are printed ("member NAME URL") for the routine to list every member. A restore that stopped
 * after its manifests were held has them put back first, so that etcd runs again. Refused here: a
 * cluster whose CA is not the snapshot's (RESTORE_CA_SHA), whose restored objects would trust a CA
 * the nodes no longer have; and a node whose disks hold a Ceph cluster other than the one the
 * snapshot's objects describe (RESTORE_CEPH_FSID, empty for none), which those objects (the mons'
 * fsid and keys) would take out of reach with its data.
 */
export function renderRestoreCheckScript(spec: { etcdTimeoutSeconds?: number } = {}): string {
    return script(COMMON, `: "\${RESTORE_SHA:?the routine sets RESTORE_SHA}" "\${RESTORE_CA_SHA:?the routine sets RESTORE_CA_SHA}"
ca=/etc/kubernetes/pki/ca.crt
have_ca=$(sha256sum < "$ca" | cut -d' ' -f1) || fail "no cluster CA in $ca: nothing stopped"
[ "$have_ca" = "$RESTORE_CA_SHA" ] || fail "this cluster's CA ($ca, sha256 $have_ca) is not the snapshot's (sha256 $RESTORE_CA_SHA): its objects trust another CA (the join discovery, service-account tokens); nothing stopped. A lab rebuilt from this snapshot must start from its CAs: up again from machines without /etc/kubernetes (pulumi destroy resets them) with backups.restoreFrom set"
if [ -s ${FSID_FILE} ]; then
  ceph=$(cat ${FSID_FILE})
  if [ -z "\${RESTORE_CEPH_FSID:-}" ]; then snapshot_ceph="records no Ceph cluster"; else snapshot_ceph="describes Ceph cluster $RESTORE_CEPH_FSID"; fi
  [ "$ceph" = "\${RESTORE_CEPH_FSID:-}" ] || fail "this node's disks hold Ceph cluster $ceph (${FSID_FILE}), and the snapshot $snapshot_ceph: its Rook objects (the mons' fsid and keys) would take that cluster and its data out of reach; nothing stopped"
fi
snapshot=${RESTORE_WORK}/snapshot.db
[ -f "$snapshot" ] || fail "no snapshot received in $snapshot"
have=$(sha256sum < "$snapshot" | cut -d' ' -f1)
[ "$have" = "$RESTORE_SHA" ] || fail "the snapshot received differs from the one named (sha256 $have, expected $RESTORE_SHA): nothing stopped"
if [ -d ${HELD_MANIFESTS} ] && [ -n "$(ls -A ${HELD_MANIFESTS})" ]; then
  echo "$host: an earlier restore held the control-plane manifests; putting them back before anything else" >&2
  for held in ${HELD_MANIFESTS}/*.yaml; do mv "$held" ${MANIFESTS}/; done
fi`, waitForEtcd(spec.etcdTimeoutSeconds ?? 300, "nothing stopped"), `status=$(in_etcd etcdutl snapshot status "$snapshot" --write-out=json 2>&1) || fail "etcdutl cannot read the snapshot: $status; nothing stopped"
case $status in *'"revision"'*) ;; *) fail "etcdutl did not describe the snapshot: $status; nothing stopped" ;; esac
name=$(flag name)
peer=$(flag initial-advertise-peer-urls)
[ -n "$name" ] && [ -n "$peer" ] || fail "no --name or --initial-advertise-peer-urls in $(etcd_manifest): nothing stopped"
echo "member $name $peer"`);
}

/**
 * Stage 2, still changing nothing the cluster runs on: this member's data restored from the
 * snapshot beside the live data, for the cluster of every member (RESTORE_NAME, RESTORE_PEER,
 * RESTORE_CLUSTER, RESTORE_TOKEN).
 */
export function renderRestoreDataScript(): string {
    return script(COMMON, `: "\${RESTORE_NAME:?}" "\${RESTORE_PEER:?}" "\${RESTORE_CLUSTER:?}" "\${RESTORE_TOKEN:?}"
restored=${RESTORE_WORK}/data`, waitForEtcd(300, "nothing stopped"), `rm -rf "$restored"
in_etcd etcdutl snapshot restore ${RESTORE_WORK}/snapshot.db --name "$RESTORE_NAME" \\
  --initial-cluster "$RESTORE_CLUSTER" --initial-cluster-token "$RESTORE_TOKEN" --initial-advertise-peer-urls "$RESTORE_PEER" \\
  --data-dir "$restored" --bump-revision ${BUMP_REVISION} --mark-compacted >&2
[ -f "$restored/member/snap/db" ] || fail "etcdutl snapshot restore left no $restored/member/snap/db: nothing stopped"
echo "$host: etcd data restored beside the live data, as member $RESTORE_NAME of $RESTORE_CLUSTER" >&2`);
}

/** Stage 3: the API server, controller manager, scheduler and etcd stopped (their manifests held), and seen gone. */
export function renderRestoreStopScript(spec: { timeoutSeconds?: number } = {}): string {
    const timeout = spec.timeoutSeconds ?? 180;
    return script(COMMON, `install -d -m 700 ${HELD_MANIFESTS}
for component in ${HELD.join(" ")}; do
  if [ -f ${MANIFESTS}/$component.yaml ]; then mv ${MANIFESTS}/$component.yaml ${HELD_MANIFESTS}/; fi
done
deadline=$(( $(date +%s) + ${timeout} ))
while pgrep -x etcd >/dev/null || pgrep -f '^kube-apiserver( |$)' >/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd or the API server still runs ${timeout} s after their manifests were held in ${HELD_MANIFESTS}"
  sleep 2
done
echo "$host: API server and etcd stopped" >&2`);
}

/**
 * Stage 4: the restored data swapped in (the live data kept beside it, the last one only, as
 * previous-data), etcd started, then the other control-plane components, then the kubelet restarted.
 */
export function renderRestoreStartScript(): string {
    return script(COMMON, `[ -d ${RESTORE_WORK}/data/member ] || fail "no restored data in ${RESTORE_WORK}/data/member; the manifests stay held in ${HELD_MANIFESTS}"
rm -rf ${RESTORE_WORK}/previous-data
if [ -d /var/lib/etcd/member ]; then mv /var/lib/etcd/member ${RESTORE_WORK}/previous-data; fi
mv ${RESTORE_WORK}/data/member /var/lib/etcd/member
echo "$host: etcd data swapped for the snapshot's (the data before kept in ${RESTORE_WORK}/previous-data)" >&2
for component in ${[...HELD].reverse().join(" ")}; do
  if [ -f ${HELD_MANIFESTS}/$component.yaml ]; then mv ${HELD_MANIFESTS}/$component.yaml ${MANIFESTS}/; fi
done
systemctl restart kubelet
echo "$host: etcd, the API server and the kubelet started again" >&2`);
}

/**
 * Stage 5: this member healthy, and what it sees of its cluster ("etcd CLUSTER_ID MEMBERS
 * REVISION"), for the routine to check every member agrees; then the API through the endpoint in
 * admin.conf (the VIP) answers ready.
 */
export function renderRestoreCheckHealthScript(spec: { timeoutSeconds?: number } = {}): string {
    const timeout = spec.timeoutSeconds ?? 600;
    return script(COMMON, `deadline=$(( $(date +%s) + ${timeout} ))
until pgrep -x etcd >/dev/null && etcdctl_ endpoint health >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd does not answer healthy ${timeout} s after the restore"
  sleep 3
done
status=$(etcdctl_ endpoint status --write-out=json)
cluster_id=$(echo "$status" | sed -n 's/.*"cluster_id":\\([0-9]*\\).*/\\1/p')
revision=$(echo "$status" | sed -n 's/.*"revision":\\([0-9]*\\).*/\\1/p')
members=$(etcdctl_ member list | cut -d, -f3 | tr -d ' ' | sort | paste -sd, -)
until kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw=/readyz >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the API does not answer ready through $(sed -n 's/^ *server: //p' /etc/kubernetes/admin.conf) ${timeout} s after the restore"
  sleep 3
done
rm -rf ${RESTORE_WORK}/data ${RESTORE_WORK}/snapshot.db
echo "etcd $cluster_id $members $revision"`);
}

/** After a stage failed before any data was swapped: the held manifests put back, so that the cluster runs on as it was. */
export function renderRestoreReleaseScript(): string {
    return script(COMMON, `if [ -d ${HELD_MANIFESTS} ]; then
  for component in ${[...HELD].reverse().join(" ")}; do
    if [ -f ${HELD_MANIFESTS}/$component.yaml ]; then mv ${HELD_MANIFESTS}/$component.yaml ${MANIFESTS}/; fi
  done
fi
rm -rf ${RESTORE_WORK}/data ${RESTORE_WORK}/snapshot.db
echo "$host: left as it was (its own etcd data, its control plane running)" >&2`);
}
