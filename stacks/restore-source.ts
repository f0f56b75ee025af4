// The snapshot named by backups.restoreFrom, read on this machine before anything is planned: a
// file that is not one of our snapshot archives, or a snapshot of another cluster, is refused here,
// before any machine is touched.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SHARED_PKI_FILES } from "../components/kubeadm/pki";
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
    /**
     * The cluster's CAs and service-account keys from the archive (SHARED_PKI_FILES), a base64
     * tar.gz: private keys, to be marked secret by whoever hands it on. A rebuild puts them back
     * before kubeadm init.
     */
    pki: string;
    /** sha256 of the archive's ca.crt: the cluster CA the restored objects trust. */
    caSha256: string;
}

/** The shared PKI files out of the archive (which holds them all), as a base64 tar.gz, and the sha256 of its ca.crt. */
function sharedPki(file: string): { pki: string; caSha256: string } {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-pki-"));
    try {
        spawnSync("tar", ["-xzf", file, "-C", staging, ...SHARED_PKI_FILES.map((entry) => `pki/${entry}`)], { encoding: "utf8" });
        const packed = spawnSync("tar", ["-czf", "-", "-C", path.join(staging, "pki"), ...SHARED_PKI_FILES], { maxBuffer: 1 << 26 });
        if (packed.status !== 0) throw new Error(`tar could not pack the PKI of ${file}: ${packed.stderr}`);
        const caSha256 = createHash("sha256").update(fs.readFileSync(path.join(staging, "pki", "ca.crt"))).digest("hex");
        return { pki: (packed.stdout as Buffer).toString("base64"), caSha256 };
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
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
    const entries = listing.stdout.split("\n");
    const missing = ARCHIVE_ENTRIES.filter((entry) => !entries.includes(entry));
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
    const missingPki = SHARED_PKI_FILES.filter((entry) => !entries.includes(`pki/${entry}`));
    if (missingPki.length) return refuse(`is not a whole snapshot archive: ${file} holds no pki/${missingPki.join(", pki/")} (kubeadm's shared certificates, which a restore needs); ${expected}`);
    return {
        source: { file, sha256: createHash("sha256").update(bytes).digest("hex"), takenAt: String(meta.takenAt), node: String(meta.node), revision: meta.etcd.revision, ...sharedPki(file) },
        problems: [],
    };
}
