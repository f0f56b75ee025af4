// Figures, not assertions: what a snapshot and a restore cost as etcd grows, with the real etcd of the
// offline build (three members on loopback) and the restore's own stage scripts (test/helpers/etcd-loopback.ts).
// The lab's own figures (a snapshot fetched over SSH, the API's gap during a restore) come from
// test:e2e:kubernetes; this isolates etcd's part and how it scales, as ratios in one run.
// Run: npm run bench -- etcd
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { EtcdLoopback, ETCD_BIN, ETCD_MISSING } from "../helpers/etcd-loopback";
import { renderRestoreCheckHealthScript, renderRestoreCheckScript, renderRestoreDataScript, renderRestoreStartScript } from "../../components/backup/restore-render";

jest.setTimeout(60 * 60 * 1000);
const CA = "ca.crt\n";
const CA_SHA = spawnSync("sha256sum", { input: CA, encoding: "utf8" }).stdout.split(" ")[0];
/** Kubernetes objects are a few kB each in etcd; the simulated lab holds ~570 keys after install. */
const SIZES = [{ keys: 1000, bytes: 1024 }, { keys: 10000, bytes: 1024 }, { keys: 40000, bytes: 2048 }];
const figures: [string, string][] = [];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Writes `keys` keys of `bytes` random bytes (gzip cannot shrink them: the archive's largest) through the gRPC gateway, `parallel` at a time. */
async function load(client: number, keys: number, bytes: number, parallel = 32): Promise<void> {
    let next = 0;
    const worker = async () => {
        for (let index = next++; index < keys; index = next++) {
            const value = randomBytes(bytes).toString("base64");
            const key = Buffer.from(`/registry/configmaps/bench/object-${index}`).toString("base64");
            const response = await fetch(`http://127.0.0.1:${client}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key, value }) });
            if (!response.ok) throw new Error(`put ${index}: HTTP ${response.status} ${await response.text()}`);
        }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
}

function timed<T>(run: () => T): [T, number] {
    const started = Date.now();
    return [run(), Date.now() - started];
}

function ok(result: { status: number | null; stderr: string }, what: string): void {
    if (result.status !== 0) throw new Error(`${what}: ${result.stderr}`);
}

const maybe = ETCD_BIN ? test : test.skip;
if (!ETCD_BIN) console.warn(`skipping the etcd benchmark: ${ETCD_MISSING}`);

maybe("etcd snapshot and restore figures", async () => {
    const rows: { keys: number; db: number; snapshot: number; restore: number }[] = [];
    for (const size of SIZES) {
        const etcd = new EtcdLoopback(CA);
        try {
            etcd.start();
            await etcd.healthy();
            await load(etcd.members[0].client, size.keys, size.bytes);

            // the backup's part on a node: snapshot save, status, the archive that travels
            const snapshot = path.join(etcd.box.dir, "snapshot.db");
            const [saved, saveMs] = timed(() => etcd.etcdctl(0, "snapshot", "save", snapshot));
            ok(saved, "etcdctl snapshot save");
            const [status, statusMs] = timed(() => etcd.tool("etcdutl", ["snapshot", "status", snapshot, "--write-out=json"]));
            ok(status, "etcdutl snapshot status");
            const archive = path.join(etcd.box.dir, "snapshot.tar.gz");
            const [tarred, tarMs] = timed(() => spawnSync("tar", ["-C", etcd.box.dir, "-czf", archive, "snapshot.db"], { encoding: "utf8" }));
            ok(tarred, "tar");
            const db = fs.statSync(snapshot).size;

            // the restore's stages as the routine runs them: check and data with etcd up, then stop, swap, start, health
            const sha = spawnSync("sha256sum", [snapshot], { encoding: "utf8" }).stdout.split(" ")[0];
            const restoreStarted = Date.now();
            const [, checkMs] = timed(() => etcd.members.forEach((member, index) => {
                fs.mkdirSync(path.join(etcd.root(index), "var/lib/etcd/homelab-restore"), { recursive: true });
                fs.copyFileSync(snapshot, path.join(etcd.root(index), "var/lib/etcd/homelab-restore/snapshot.db"));
                ok(etcd.stage(index, renderRestoreCheckScript(), { RESTORE_SHA: sha, RESTORE_CA_SHA: CA_SHA }), `check on ${member.name}`);
            }));
            const [, dataMs] = timed(() => etcd.members.forEach((member, index) => ok(etcd.stage(index, renderRestoreDataScript(), {
                RESTORE_NAME: member.name, RESTORE_PEER: `http://127.0.0.1:${member.peer}`, RESTORE_CLUSTER: etcd.initialCluster, RESTORE_TOKEN: "homelab-bench",
            }), `data on ${member.name}`)));
            await etcd.stop();
            etcd.members.forEach((member, index) => ok(etcd.stage(index, renderRestoreStartScript()), `start on ${member.name}`));
            const startedAgain = Date.now();
            etcd.start();
            await etcd.healthy(600000);
            etcd.members.forEach((member, index) => ok(etcd.stage(index, renderRestoreCheckHealthScript({ timeoutSeconds: 300 })), `health on ${member.name}`));
            const healthyMs = Date.now() - startedAgain;
            const restoreMs = Date.now() - restoreStarted;
            const count = etcd.etcdctl(1, "get", "/registry/configmaps/bench/", "--prefix", "--count-only", "--write-out=fields");
            const restoredKeys = Number(/"Count" : (\d+)/.exec(count.stdout)?.[1]);

            const label = `${size.keys} keys × ${size.bytes} B`;
            figures.push([`${label}: database / archive (gzip)`, `${mib(db)} / ${mib(fs.statSync(archive).size)}`]);
            figures.push([`${label}: snapshot save / status / gzip`, `${seconds(saveMs)} / ${seconds(statusMs)} / ${seconds(tarMs)}`]);
            figures.push([`${label}: restore, check to healthy (of it: copy and check ×3 ${seconds(checkMs)}, etcdutl restore ×3 ${seconds(dataMs)}, start to healthy ${seconds(healthyMs)})`, seconds(restoreMs)]);
            figures.push([`${label}: keys back after the restore`, String(restoredKeys)]);
            rows.push({ keys: size.keys, db, snapshot: saveMs, restore: restoreMs });
        } finally {
            await etcd.cleanup();
        }
    }
    const [small, large] = [rows[0], rows[rows.length - 1]];
    figures.push([`ratio database ${large.keys} / ${small.keys} keys`, (large.db / small.db).toFixed(1)]);
    figures.push([`ratio snapshot time ${large.keys} / ${small.keys} keys`, (large.snapshot / small.snapshot).toFixed(1)]);
    figures.push([`ratio restore time ${large.keys} / ${small.keys} keys`, (large.restore / small.restore).toFixed(1)]);
});

afterAll(() => {
    const width = Math.max(...figures.map(([name]) => name.length));
    process.stdout.write(`\netcd snapshot and restore (${new Date().toISOString()}, ${require("os").cpus().length} cores; real etcd ${ETCD_BIN ?? "missing"}, three members on loopback)\n`);
    for (const [name, value] of figures) process.stdout.write(`  ${name.padEnd(width)}  ${value}\n`);
});
