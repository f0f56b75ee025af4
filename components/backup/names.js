// How snapshots are named, for the routine (plain JS, run by node) and the program (./render.ts):
// the cluster, then when it was taken (UTC), so that names sort by time.
"use strict";

/** e.g. homelab-etcd-20261205T235200Z.tar.gz */
function snapshotFileName(cluster, takenAt) {
    return `${cluster}-etcd-${takenAt.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "")}.tar.gz`;
}

/** When the snapshot in `file` was taken, or undefined if the name is not one of this cluster's snapshots. */
function snapshotTakenAt(cluster, file) {
    const match = new RegExp(`^${cluster}-etcd-(\\d{4})(\\d{2})(\\d{2})T(\\d{2})(\\d{2})(\\d{2})Z\\.tar\\.gz$`).exec(file);
    if (!match) return undefined;
    const [, y, mo, d, h, mi, s] = match;
    const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    return Number.isNaN(date.getTime()) ? undefined : date;
}

/** What every snapshot archive holds: checked on the copy the routine fetches and on the one a restore names. */
const ARCHIVE_ENTRIES = ["meta.json", "status.json", "snapshot.db", "pki/ca.key", "pki/etcd/ca.key"];

module.exports = { ARCHIVE_ENTRIES, snapshotFileName, snapshotTakenAt };
