// The snapshot named by backups.restoreFrom, read on this machine before anything is planned: a
// file that is not one of our snapshot archives, or a snapshot of another cluster, is refused here,
// before any machine is touched.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ConfigProblem } from "./rules";

const KEY = "backups.restoreFrom";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { ARCHIVE_ENTRIES } = require("../components/backup/names.js") as { ARCHIVE_ENTRIES: string[] };
/** bbolt's magic number, at the start of the first meta page of every etcd database (little-endian). */
const BOLT_MAGIC = Buffer.from([0xed, 0xda, 0x0c, 0xed]);
const BOLT_MAGIC_OFFSET = 16;

export interface RestoreSource {
    /** Absolute path of the archive. */
    file: string;
    sha256: string;
    takenAt: string;
    node: string;
    revision: number;
}

/** Where restoreFrom points: a bare file name is one in the cluster's snapshot folder. */
export function restoreFile(restoreFrom: string, backupDirectory: string, resolve: (value: string) => string): string {
    return restoreFrom.includes("/") || restoreFrom.startsWith("~") ? resolve(restoreFrom) : path.join(backupDirectory, restoreFrom);
}

/** Reads the archive: it must be a snapshot archive of `clusterName` whose database is an etcd (bbolt) one. */
export function inspectRestoreSource(restoreFrom: string, file: string, clusterName: string): { source?: RestoreSource; problems: ConfigProblem[] } {
    const refuse = (message: string) => ({ problems: [{ key: KEY, value: restoreFrom, message }] });
    const expected = `expected one of ${clusterName}'s snapshot archives (${clusterName}-etcd-<time>.tar.gz, as an up keeps them in ${path.dirname(file)})`;
    let bytes: Buffer;
    try {
        bytes = fs.readFileSync(file);
    } catch (error) {
        return refuse(`cannot be read as ${file} (${(error as NodeJS.ErrnoException).code}); ${expected}`);
    }
    const listing = spawnSync("tar", ["-tzf", file], { encoding: "utf8" });
    if (listing.status !== 0) return refuse(`is not a snapshot archive: ${file} is not a readable tar.gz; ${expected}`);
    const missing = ARCHIVE_ENTRIES.filter((entry) => !listing.stdout.split("\n").includes(entry));
    if (missing.length) return refuse(`is not a snapshot archive: ${file} holds no ${missing.join(", ")}; ${expected}`);
    const read = (entry: string) => spawnSync("tar", ["-xzOf", file, entry], { maxBuffer: 1 << 30 }).stdout as Buffer;
    let meta: { cluster?: string; node?: string; takenAt?: string; etcd?: { revision?: number } };
    try {
        meta = JSON.parse(read("meta.json").toString("utf8"));
    } catch {
        return refuse(`is not a snapshot archive: the meta.json in ${file} is not JSON; ${expected}`);
    }
    if (meta.cluster !== clusterName) return refuse(`is a snapshot of cluster ${JSON.stringify(meta.cluster)}, not of ${clusterName} (${file}); ${expected}`);
    const db = read("snapshot.db");
    if (!db.subarray(BOLT_MAGIC_OFFSET, BOLT_MAGIC_OFFSET + BOLT_MAGIC.length).equals(BOLT_MAGIC)) return refuse(`is not an etcd snapshot: the snapshot.db in ${file} is not an etcd database; ${expected}`);
    if (typeof meta.etcd?.revision !== "number") return refuse(`is not a snapshot archive: the meta.json in ${file} gives no etcd revision; ${expected}`);
    return {
        source: { file, sha256: createHash("sha256").update(bytes).digest("hex"), takenAt: String(meta.takenAt), node: String(meta.node), revision: meta.etcd.revision },
        problems: [],
    };
}
