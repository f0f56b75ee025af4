// The restore's stage scripts against real etcd (the offline build's etcd, etcdctl and etcdutl:
// the versions the lab's etcd image carries), three members on loopback, each "node" a folder:
// nsenter is a stand-in that runs the real tool where the script would enter etcd's container.
// What stand-ins cannot say is checked here: etcdutl takes the flags the data script gives it, the
// members restored from one snapshot form one cluster with its keys and a bumped revision, the
// health script reads real etcdctl output, and the archive check knows a real snapshot's database.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { standIns, StandIns } from "./helpers/standins";
import { makeArchive } from "./helpers/snapshot-archive";
import { renderRestoreCheckHealthScript, renderRestoreCheckScript, renderRestoreDataScript, renderRestoreStartScript } from "../components/backup/restore-render";
import { inspectRestoreSource } from "../stacks/restore-source";

const OFFLINE = process.env.HOMELAB_OFFLINE_CACHE ?? path.join(os.homedir(), ".cache", "homelab", "offline");
const BIN = (fs.existsSync(OFFLINE) ? fs.readdirSync(OFFLINE) : []).filter((dir) => dir.startsWith("kubernetes-v"))
    .map((dir) => path.join(OFFLINE, dir, "bin")).find((bin) => ["etcd", "etcdctl", "etcdutl"].every((tool) => fs.existsSync(path.join(bin, tool))));
if (!BIN) console.warn(`skipping the restore against real etcd: no offline build with etcd, etcdctl and etcdutl in ${OFFLINE} (npm run build:offline)`);
const maybe = BIN ? describe : describe.skip;

/** pgrep: etcd runs while its manifest is in place. */
const PGREP = `[ -e "$NODE_ROOT/etc/kubernetes/manifests/etcd.yaml" ] && echo 4242`;
/** nsenter into etcd's mount namespace: the real tool, etcdctl against this node's member. */
const NSENTER = `shift 4
tool=$1; shift
if [ "$tool" = etcdctl ]; then
  args=(); for a in "$@"; do case $a in --endpoints=*|--cacert=*|--cert=*|--key=*) ;; *) args+=("$a") ;; esac; done
  exec "$ETCD_BIN/etcdctl" --endpoints="http://127.0.0.1:$NODE_CLIENT" "\${args[@]}"
fi
exec "$ETCD_BIN/$tool" "$@"`;

maybe("the restore's stage scripts against real etcd", () => {
    let box: StandIns;
    let running: ChildProcess[] = [];
    const base = 24000 + Math.floor(Math.random() * 20000);
    const members = [0, 1, 2].map((index) => ({ name: `m${index + 1}`, client: base + index * 2, peer: base + index * 2 + 1 }));
    const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
    const root = (index: number) => path.join(box.dir, `node-${index}`);
    const etcdctl = (index: number, ...args: string[]) => spawnSync(path.join(BIN!, "etcdctl"), [`--endpoints=http://127.0.0.1:${members[index].client}`, ...args], { encoding: "utf8", timeout: 30000 });

    function startMembers(): void {
        running = members.map((m, index) => spawn(path.join(BIN!, "etcd"), [
            `--name=${m.name}`, `--data-dir=${path.join(root(index), "var/lib/etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${m.client}`, `--advertise-client-urls=http://127.0.0.1:${m.client}`,
            `--listen-peer-urls=http://127.0.0.1:${m.peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
            `--initial-cluster=${initialCluster}`, "--initial-cluster-state=new", "--log-level=error",
        ], { stdio: "ignore" }));
    }
    async function healthy(): Promise<void> {
        for (const started = Date.now(); ;) {
            if (members.every((_, index) => etcdctl(index, "endpoint", "health").status === 0)) return;
            if (Date.now() - started > 60000) throw new Error("the etcd members are not healthy after 60 s");
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }
    async function stopMembers(): Promise<void> {
        await Promise.all(running.map((child) => new Promise((resolve) => { child.once("exit", resolve); child.kill("SIGTERM"); })));
        running = [];
    }
    /** A stage script as it runs on node `index`, with RESTORE_* assignments before it. */
    function stage(index: number, rendered: string, vars: Record<string, string> = {}) {
        const assignments = Object.entries(vars).map(([name, value]) => `${name}='${value}'\n`).join("");
        const text = box.runnable(rendered, { "/var/lib/etcd": `node-${index}/var/lib/etcd`, "/etc/kubernetes": `node-${index}/etc/kubernetes` });
        return spawnSync("bash", ["-c", `${assignments}${text}`], {
            encoding: "utf8", timeout: 120000,
            env: { ...process.env, NODE_ROOT: root(index), NODE_CLIENT: String(members[index].client), ETCD_BIN: BIN! },
        });
    }

    beforeAll(async () => {
        box = standIns({ pgrep: PGREP, nsenter: NSENTER, systemctl: "true", kubectl: "true" });
        for (const [index, m] of members.entries()) {
            fs.mkdirSync(path.join(root(index), "etc/kubernetes/manifests"), { recursive: true });
            // the cluster CA, which the snapshot's archive (makeArchive's) holds too
            fs.mkdirSync(path.join(root(index), "etc/kubernetes/pki"), { recursive: true });
            fs.writeFileSync(path.join(root(index), "etc/kubernetes/pki/ca.crt"), "ca.crt\n");
            fs.writeFileSync(path.join(root(index), "etc/kubernetes/manifests/etcd.yaml"),
                `spec:\n  containers:\n  - command:\n    - etcd\n    - --name=${m.name}\n    - --initial-advertise-peer-urls=http://127.0.0.1:${m.peer}\n`);
        }
        startMembers();
        await healthy();
    }, 120000);
    afterAll(async () => {
        await stopMembers();
        box.cleanup();
    });

    test("members restored from one snapshot form one cluster holding what the snapshot held, at a revision past any seen; the archive check knows a real snapshot", async () => {
        expect(etcdctl(0, "put", "/registry/namespaces/kept-by-snapshot", "42").status).toBe(0);
        const snapshot = path.join(box.dir, "snapshot.db");
        expect(etcdctl(0, "snapshot", "save", snapshot).status).toBe(0);
        expect(etcdctl(0, "put", "/registry/namespaces/written-after", "1").status).toBe(0);

        const archive = makeArchive(path.join(box.dir, "backups"), "lab-etcd-20261206T030000Z.tar.gz", { cluster: "lab", db: fs.readFileSync(snapshot) });
        expect(inspectRestoreSource("lab-etcd-20261206T030000Z.tar.gz", archive, "lab").problems).toEqual([]);

        // stages 1 and 2, with the members running: nothing they run on changes
        const sha = spawnSync("sha256sum", [snapshot], { encoding: "utf8" }).stdout.split(" ")[0];
        for (const index of members.keys()) {
            fs.mkdirSync(path.join(root(index), "var/lib/etcd/homelab-restore"), { recursive: true });
            fs.copyFileSync(snapshot, path.join(root(index), "var/lib/etcd/homelab-restore/snapshot.db"));
            const check = stage(index, renderRestoreCheckScript({ etcdTimeoutSeconds: 5 }), { RESTORE_SHA: sha, RESTORE_CA_SHA: inspectRestoreSource("", archive, "lab").source!.caSha256 });
            expect(check.stderr).toBe("");
            expect(check.stdout.trim()).toBe(`member ${members[index].name} http://127.0.0.1:${members[index].peer}`);
            const data = stage(index, renderRestoreDataScript(), { RESTORE_NAME: members[index].name, RESTORE_PEER: `http://127.0.0.1:${members[index].peer}`, RESTORE_CLUSTER: initialCluster, RESTORE_TOKEN: "homelab-restore-test" });
            expect(data.status).toBe(0);
        }
        expect(etcdctl(0, "get", "/registry/namespaces/written-after", "--print-value-only").stdout.trim()).toBe("1");

        // stage 4 swaps the data while the members are stopped (the stop stage's part is the kubelet's, here the test's)
        await stopMembers();
        for (const index of members.keys()) expect(stage(index, renderRestoreStartScript()).status).toBe(0);
        startMembers();
        await healthy();

        const seen = members.map((_, index) => stage(index, renderRestoreCheckHealthScript({ timeoutSeconds: 30 })));
        for (const result of seen) expect(result.status).toBe(0);
        const reports = seen.map((result) => /^etcd (\d+) (\S+) (\d+)$/m.exec(result.stdout));
        expect(reports.every(Boolean)).toBe(true);
        expect(new Set(reports.map((report) => report![1])).size).toBe(1);
        for (const report of reports) {
            expect(report![2]).toBe("m1,m2,m3");
            expect(Number(report![3])).toBeGreaterThan(1_000_000_000);
        }
        for (const index of members.keys()) {
            expect(etcdctl(index, "get", "/registry/namespaces/kept-by-snapshot", "--print-value-only", "--consistency=s").stdout.trim()).toBe("42");
            expect(etcdctl(index, "get", "/registry/namespaces/written-after", "--print-value-only", "--consistency=s").stdout.trim()).toBe("");
            expect(fs.existsSync(path.join(root(index), "var/lib/etcd/homelab-restore/previous-data/snap/db"))).toBe(true);
            for (const left of ["snapshot.db", "data"]) expect(fs.existsSync(path.join(root(index), "var/lib/etcd/homelab-restore", left))).toBe(false);
        }
    }, 300000);
});
