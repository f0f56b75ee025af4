// A snapshot archive as ClusterBackup keeps them, for the tests of what reads one (a restore).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SHARED_PKI_FILES } from "../../components/kubeadm/pki";

/** An etcd (bbolt) database as far as the check reads one: its first meta page's magic number. */
export const BOLT_DB = Buffer.concat([Buffer.alloc(16), Buffer.from([0xed, 0xda, 0x0c, 0xed]), Buffer.from("snapshot-data")]);

/** A snapshot archive as ClusterBackup keeps them, in `dir`; `change` edits what goes in. */
export function makeArchive(dir: string, name: string, change: { cluster?: string; db?: Buffer; leaveOut?: string; meta?: string; ca?: string; leavePkiOut?: string } = {}): string {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-archive-"));
    fs.mkdirSync(path.join(staging, "pki", "etcd"), { recursive: true });
    // a node's /etc/kubernetes/pki holds more than these (certificates kubeadm derives from them)
    for (const file of [...SHARED_PKI_FILES, "apiserver.crt", "apiserver.key"].filter((entry) => entry !== change.leavePkiOut)) fs.writeFileSync(path.join(staging, "pki", file), `${change.ca && file === "ca.crt" ? change.ca : file}\n`);
    fs.writeFileSync(path.join(staging, "status.json"), '{"revision":4242}');
    fs.writeFileSync(path.join(staging, "snapshot.db"), change.db ?? BOLT_DB);
    fs.writeFileSync(path.join(staging, "meta.json"), change.meta ?? JSON.stringify({ cluster: change.cluster ?? "homelab", node: "cp1", takenAt: "2026-12-05T23:52:00Z", etcd: { revision: 4242 } }));
    const entries = ["meta.json", "status.json", "snapshot.db", "pki"].filter((entry) => entry !== change.leaveOut);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    const tar = spawnSync("tar", ["-C", staging, "-czf", file, ...entries], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
    fs.rmSync(staging, { recursive: true });
    return file;
}
