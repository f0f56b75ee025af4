// The restore's stage scripts against real etcd (the offline build's etcd, etcdctl and etcdutl:
// the versions the lab's etcd image carries), three members on loopback, each "node" a folder:
// nsenter is a stand-in that runs the real tool where the script would enter etcd's container.
// What stand-ins cannot say is checked here: etcdutl takes the flags the data script gives it, the
// members restored from one snapshot form one cluster with its keys and a bumped revision, the
// health script reads real etcdctl output, and the archive check knows a real snapshot's database.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EtcdLoopback, ETCD_BIN, ETCD_MISSING } from "./helpers/etcd-loopback";
import { makeArchive } from "./helpers/snapshot-archive";
import { renderRestoreCheckHealthScript, renderRestoreCheckScript, renderRestoreDataScript, renderRestoreStartScript } from "../components/backup/restore-render";
import { inspectRestoreSource } from "../stacks/restore-source";

if (!ETCD_BIN) console.warn(`skipping the restore against real etcd: ${ETCD_MISSING}`);
const maybe = ETCD_BIN ? describe : describe.skip;

maybe("the restore's stage scripts against real etcd", () => {
    let etcd: EtcdLoopback;
    beforeAll(async () => {
        // the cluster CA makeArchive's archive holds too
        etcd = new EtcdLoopback("ca.crt\n");
        etcd.start();
        await etcd.healthy();
    }, 120000);
    afterAll(() => etcd.cleanup());

    test("members restored from one snapshot form one cluster holding what the snapshot held, at a revision past any seen; the archive check knows a real snapshot", async () => {
        expect(etcd.etcdctl(0, "put", "/registry/namespaces/kept-by-snapshot", "42").status).toBe(0);
        const snapshot = path.join(etcd.box.dir, "snapshot.db");
        expect(etcd.etcdctl(0, "snapshot", "save", snapshot).status).toBe(0);
        expect(etcd.etcdctl(0, "put", "/registry/namespaces/written-after", "1").status).toBe(0);

        const archive = makeArchive(path.join(etcd.box.dir, "backups"), "lab-etcd-20261206T030000Z.tar.gz", { cluster: "lab", db: fs.readFileSync(snapshot) });
        const inspected = inspectRestoreSource("lab-etcd-20261206T030000Z.tar.gz", archive, "lab");
        expect(inspected.problems).toEqual([]);

        // stages 1 and 2, with the members running: nothing they run on changes
        const sha = spawnSync("sha256sum", [snapshot], { encoding: "utf8" }).stdout.split(" ")[0];
        for (const index of etcd.members.keys()) {
            fs.mkdirSync(path.join(etcd.root(index), "var/lib/etcd/homelab-restore"), { recursive: true });
            fs.copyFileSync(snapshot, path.join(etcd.root(index), "var/lib/etcd/homelab-restore/snapshot.db"));
            const check = etcd.stage(index, renderRestoreCheckScript({ etcdTimeoutSeconds: 5 }), { RESTORE_SHA: sha, RESTORE_CA_SHA: inspected.source!.caSha256 });
            expect(check.stderr).toBe("");
            expect(check.stdout.trim()).toBe(`member ${etcd.members[index].name} http://127.0.0.1:${etcd.members[index].peer}`);
            const data = etcd.stage(index, renderRestoreDataScript(), { RESTORE_NAME: etcd.members[index].name, RESTORE_PEER: `http://127.0.0.1:${etcd.members[index].peer}`, RESTORE_CLUSTER: etcd.initialCluster, RESTORE_TOKEN: "homelab-restore-test" });
            expect(data.status).toBe(0);
        }
        expect(etcd.etcdctl(0, "get", "/registry/namespaces/written-after", "--print-value-only").stdout.trim()).toBe("1");

        // stage 4 swaps the data while the members are stopped (the stop stage's part is the kubelet's, here the test's)
        await etcd.stop();
        for (const index of etcd.members.keys()) expect(etcd.stage(index, renderRestoreStartScript()).status).toBe(0);
        etcd.start();
        await etcd.healthy();

        const seen = etcd.members.map((_, index) => etcd.stage(index, renderRestoreCheckHealthScript({ timeoutSeconds: 30 })));
        for (const result of seen) expect(result.status).toBe(0);
        const reports = seen.map((result) => /^etcd (\d+) (\S+) (\d+)$/m.exec(result.stdout));
        expect(reports.every(Boolean)).toBe(true);
        expect(new Set(reports.map((report) => report![1])).size).toBe(1);
        for (const report of reports) {
            expect(report![2]).toBe("m1,m2,m3");
            expect(Number(report![3])).toBeGreaterThan(1_000_000_000);
        }
        for (const index of etcd.members.keys()) {
            expect(etcd.etcdctl(index, "get", "/registry/namespaces/kept-by-snapshot", "--print-value-only", "--consistency=s").stdout.trim()).toBe("42");
            expect(etcd.etcdctl(index, "get", "/registry/namespaces/written-after", "--print-value-only", "--consistency=s").stdout.trim()).toBe("");
            expect(fs.existsSync(path.join(etcd.root(index), "var/lib/etcd/homelab-restore/previous-data/snap/db"))).toBe(true);
            for (const left of ["snapshot.db", "data"]) expect(fs.existsSync(path.join(etcd.root(index), "var/lib/etcd/homelab-restore", left))).toBe(false);
        }
    }, 300000);
});
