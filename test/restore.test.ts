// ClusterRestore: the snapshot named by backups.restoreFrom is checked on this machine before
// anything is planned; the stage scripts (golden, shellcheck); the component's plan; and the
// routine run for real against three fake control planes (loopback SSH ports, each node a folder,
// stand-in ssh, pgrep, nsenter, systemctl and kubectl): every member restored from the one snapshot, the
// cluster as it was kept first, and every refusal before the stop leaves every node as it was.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { installMocks, registered, resetRegistered, secretValue, settle } from "./helpers/mocks";
import { expectScriptGolden } from "./helpers/golden";
import { FakeMachine } from "./helpers/fake-machine";
import { runRoutine } from "./helpers/routine";
import { standIns, StandIns } from "./helpers/standins";
import { renderSnapshotScript } from "../components/backup/render";
import {
    RECEIVE_SNAPSHOT_COMMAND, renderRestoreCheckHealthScript, renderRestoreCheckScript, renderRestoreDataScript,
    renderRestoreReleaseScript, renderRestoreStartScript, renderRestoreStopScript,
} from "../components/backup/restore-render";
import { parseConfig, rawFromRuntimeConfig, readRestoreSource } from "../stacks/config";
import { inspectRestoreSource } from "../stacks/restore-source";
import { crossFieldProblems } from "../stacks/rules";
import { runtimeConfigOf } from "./helpers/fixtures";
import { BOLT_DB, makeArchive } from "./helpers/snapshot-archive";
import { renderRestorePkiScript, SHARED_PKI_FILES } from "../components/kubeadm/pki";

installMocks();
/** The home stack, as the cluster "homelab". */
const labConfig = (): Record<string, any> => ({ ...rawFromRuntimeConfig(runtimeConfigOf("Pulumi.home.yaml")).raw, clusterName: "homelab" });
const { ClusterRestore } = require("../components/backup") as typeof import("../components/backup");

describe("the snapshot backups.restoreFrom names, read before anything is planned", () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-restore-source-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("one of this cluster's archives: its sha256, when and where it was taken, etcd's revision, its shared PKI", () => {
        const file = makeArchive(dir, "homelab-etcd-20261205T235200Z.tar.gz", { ca: "the cluster CA" });
        const { source, problems } = inspectRestoreSource("homelab-etcd-20261205T235200Z.tar.gz", file, "homelab");
        expect(problems).toEqual([]);
        expect(source).toEqual({
            file, sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex"), takenAt: "2026-12-05T23:52:00Z", node: "cp1", revision: 4242,
            pki: expect.any(String), caSha256: createHash("sha256").update("the cluster CA\n").digest("hex"),
        });
        // kubeadm's shared certificates and nothing else (a node's own serving certificates stay behind)
        const listing = spawnSync("tar", ["-tzf", "-"], { input: Buffer.from(source!.pki, "base64"), encoding: "utf8" });
        expect(listing.stdout.split("\n").filter(Boolean).sort()).toEqual([...SHARED_PKI_FILES].sort());
    });

    test.each([
        ["another cluster's snapshot", { cluster: "office" }, 'is a snapshot of cluster "office", not of homelab'],
        ["a database that is not etcd's", { db: Buffer.from("SQLite format 3\0") }, "is not an etcd snapshot: the snapshot.db in"],
        ["an archive without the PKI", { leaveOut: "pki" }, "holds no pki/ca.key, pki/etcd/ca.key"],
        ["an archive without the snapshot", { leaveOut: "snapshot.db" }, "holds no snapshot.db"],
        ["an archive without the service-account key", { leavePkiOut: "sa.key" }, "holds no pki/sa.key (kubeadm's shared certificates"],
        ["a meta.json that is not JSON", { meta: "{" }, "the meta.json in"],
    ])("%s is refused, naming the key, the value and the file", (_what, change, message) => {
        const file = makeArchive(dir, "homelab-etcd-20261205T235200Z.tar.gz", change);
        const { source, problems } = inspectRestoreSource("x.tar.gz", file, "homelab");
        expect(source).toBeUndefined();
        expect(problems).toEqual([{ key: "backups.restoreFrom", value: "x.tar.gz", message: expect.stringContaining(message) }]);
        expect(problems[0].message).toContain(file);
        expect(problems[0].message).toContain("expected one of homelab's snapshot archives");
    });

    test("a file that is no archive, or none at all, is refused", () => {
        const text = path.join(dir, "notes.txt");
        fs.writeFileSync(text, "hello\n");
        expect(inspectRestoreSource(text, text, "homelab").problems[0].message).toContain("is not a snapshot archive: " + text + " is not a readable tar.gz");
        expect(inspectRestoreSource("gone.tar.gz", path.join(dir, "gone.tar.gz"), "homelab").problems[0].message).toContain("(ENOENT)");
    });

    test("a bare name is found in the cluster's snapshot folder; its problems are listed with every other config problem", () => {
        const folder = path.join(dir, "homelab");
        makeArchive(folder, "homelab-etcd-20261205T235200Z.tar.gz", { cluster: "office" });
        const raw = { ...labConfig(), backups: { directory: dir, restoreFrom: "homelab-etcd-20261205T235200Z.tar.gz" }, power: "sideways" };
        const { config, problems } = parseConfig(raw);
        expect(config).toBeUndefined();
        expect(problems.map((p) => p.key)).toContain("power");
        expect(readRestoreSource(raw, config).problems).toEqual([{ key: "backups.restoreFrom", value: "homelab-etcd-20261205T235200Z.tar.gz", message: expect.stringContaining(`not of homelab (${folder}/homelab-etcd-20261205T235200Z.tar.gz)`) }]);
    });

    test("a restore needs Kubernetes and the lab on", () => {
        const base = parseConfig({ ...labConfig(), backups: { restoreFrom: "a.tar.gz" } });
        expect(base.problems).toEqual([]);
        const parsed = base.config!;
        const restoreProblems = (config: typeof parsed) => crossFieldProblems(config).filter((p) => p.key === "backups.restoreFrom").map((p) => p.message);
        expect(restoreProblems({ ...parsed, power: "off" })).toEqual([expect.stringContaining("while power is off")]);
        expect(restoreProblems({ ...parsed, kubernetes: { ...parsed.kubernetes, enabled: false } })).toEqual([expect.stringContaining("kubernetes.enabled is false")]);
    });
});

describe("the restore's stage scripts", () => {
    test.each([
        ["restore-check.sh", renderRestoreCheckScript()],
        ["restore-data.sh", renderRestoreDataScript()],
        ["restore-stop.sh", renderRestoreStopScript()],
        ["restore-start.sh", renderRestoreStartScript()],
        ["restore-health.sh", renderRestoreCheckHealthScript()],
        ["restore-release.sh", renderRestoreReleaseScript()],
    ])("%s: golden and shellcheck clean", (name, rendered) => {
        expectScriptGolden(name, rendered);
    });
});

describe("the snapshot's CAs put back before kubeadm init (a lab rebuilt from a snapshot)", () => {
    let box: StandIns;
    let dir: string;
    let pki: string;
    let caSha256: string;
    const pkiDir = () => path.join(box.dir, "pki");
    const rendered = () => renderRestorePkiScript({ caSha256, snapshot: "homelab-etcd-20261205T235200Z.tar.gz" });
    const run = (input = pki) => spawnSync("bash", ["-c", box.runnable(rendered(), { "/etc/kubernetes/pki": "pki" })], { input, encoding: "utf8", timeout: 60000 });
    beforeEach(() => {
        box = standIns({});
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-restore-pki-"));
        ({ pki, caSha256 } = inspectRestoreSource("a.tar.gz", makeArchive(dir, "a.tar.gz"), "homelab").source!);
    });
    afterEach(() => { box.cleanup(); fs.rmSync(dir, { recursive: true, force: true }); });

    test("golden and shellcheck clean", () => {
        expectScriptGolden("restore-pki.sh", rendered());
    });

    test("a node without a cluster CA gets the snapshot's shared certificates, keys root-only; a second run changes nothing", () => {
        const first = run();
        expect(first.stderr).toBe("");
        expect(first.status).toBe(0);
        expect(first.stdout).toContain("the cluster's CAs and service-account keys from homelab-etcd-20261205T235200Z.tar.gz are in");
        for (const file of SHARED_PKI_FILES) {
            expect(fs.readFileSync(path.join(pkiDir(), file), "utf8")).toBe(`${file}\n`);
            expect(fs.statSync(path.join(pkiDir(), file)).mode & 0o777).toBe(file.endsWith(".key") ? 0o600 : 0o644);
        }
        expect(fs.readdirSync(pkiDir()).filter((file) => file.endsWith(".homelab-new"))).toEqual([]);
        const again = run();
        expect(again.status).toBe(0);
        expect(again.stdout).toContain("the cluster CA here is the snapshot's; nothing to put back");
    });

    test("a node with another cluster CA is refused, its PKI untouched", () => {
        fs.mkdirSync(pkiDir());
        fs.writeFileSync(path.join(pkiDir(), "ca.crt"), "another CA\n");
        const result = run();
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`is not the one in homelab-etcd-20261205T235200Z.tar.gz (sha256 ${caSha256}): restoring that snapshot would bring back objects trusted by another CA`);
        expect(fs.readdirSync(pkiDir())).toEqual(["ca.crt"]);
        expect(fs.readFileSync(path.join(pkiDir(), "ca.crt"), "utf8")).toBe("another CA\n");
    });

    test("a PKI received that is not the one planned puts nothing back", () => {
        const other = inspectRestoreSource("b.tar.gz", makeArchive(dir, "b.tar.gz", { ca: "another CA" }), "homelab").source!.pki;
        const result = run(other);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("the PKI received is not the one planned (its ca.crt differs): nothing put back");
        expect(fs.existsSync(path.join(pkiDir(), "ca.crt"))).toBe(false);
    });
});

describe("ClusterRestore's plan", () => {
    beforeEach(resetRegistered);
    test("the archive's sha256 is the trigger (once per snapshot); the key goes on stdin as a secret, never into the plan", async () => {
        new ClusterRestore("lab-restore", {
            clusterName: "homelab",
            controlPlanes: [{ name: "cp1", host: "10.0.0.1", port: 22, hostKey: "ssh-ed25519 AAAA" }],
            file: "/home/me/backups/homelab/homelab-etcd-20261205T235200Z.tar.gz",
            sha256: "ab".repeat(32),
            directory: "/home/me/backups/homelab",
            keep: 3,
            user: "homeuser",
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n-----END OPENSSH PRIVATE KEY-----\n",
        });
        await settle();
        const step = registered.find((r) => r.name === "lab-restore-etcd")!;
        expect(step.type).toBe("command:local:Command");
        expect(step.inputs.triggers).toEqual(["ab".repeat(32)]);
        expect(step.inputs.update).toBe("true");
        expect(step.inputs.delete).toBeUndefined();
        expect(JSON.stringify(step.inputs.environment)).not.toContain("secret");
        expect(secretValue(step.inputs.stdin)).toContain("BEGIN OPENSSH PRIVATE KEY");
        const plan = JSON.parse(step.inputs.environment.HOMELAB_RESTORE_PLAN);
        expect(plan).toMatchObject({ cluster: "homelab", sha256: "ab".repeat(32), snapshot: { directory: "/home/me/backups/homelab", keep: 3 } });
        expect(plan.scripts.start).toBe(renderRestoreStartScript());
    });
});

/** pgrep on a fake node ($NODE_ROOT): a component runs while its manifest is in place (the API server also while $NODE_ROOT/stuck). */
const PGREP = `m=$NODE_ROOT/etc/kubernetes/manifests
case "$*" in
  "-o -x etcd"|"-x etcd") [ -e "$m/etcd.yaml" ] && echo 4242 ;;
  "-f ^kube-apiserver( |\$)") { [ -e "$m/kube-apiserver.yaml" ] || [ -e "$NODE_ROOT/stuck" ]; } && echo 4343 ;;
  *) echo "pgrep stand-in: unexpected $*" >&2; exit 2 ;;
esac`;
/** nsenter into etcd's mount namespace on a fake node: etcdutl and etcdctl act on the node's folders. */
const NSENTER = `shift 4
tool=$1; shift
case "$tool $*" in
  "etcdutl snapshot status "*) if [ -e "$NODE_ROOT/bad-snapshot" ]; then echo "invalid database"; exit 1; fi; echo '{"hash":1,"revision":4242}' ;;
  "etcdutl snapshot restore "*)
    src=$3; shift 3
    while [ $# -gt 0 ]; do case $1 in --name) name=$2; shift 2 ;; --initial-cluster) cluster=$2; shift 2 ;; --initial-cluster-token) token=$2; shift 2 ;; --data-dir) data=$2; shift 2 ;; *) shift ;; esac; done
    mkdir -p "$data/member/snap"; cp "$src" "$data/member/snap/db"
    echo "$name" > "$data/member/name"; echo "$cluster" > "$data/member/initial-cluster"; echo "$token" > "$data/member/token" ;;
  "etcdctl "*"endpoint health") [ -e "$NODE_ROOT/etc/kubernetes/manifests/etcd.yaml" ] ;;
  "etcdctl "*"snapshot save "*) for last; do :; done; cp "$NODE_ROOT/var/lib/etcd/member/snap/db" "$last" ;;
  "etcdctl "*"endpoint status "*) echo "[{\\"Status\\":{\\"header\\":{\\"cluster_id\\":$(cksum < "$NODE_ROOT/var/lib/etcd/member/token" | cut -d' ' -f1),\\"revision\\":1000004242}}}]" ;;
  "etcdctl "*"member list") tr ',' '\\n' < "$NODE_ROOT/var/lib/etcd/member/initial-cluster" | while IFS== read -r n u; do echo "1, started, $n, $u, https://x:2379, false"; done ;;
  *) echo "nsenter stand-in: unexpected $tool $*" >&2; exit 1 ;;
esac`;

describe("the routine, against three fake control planes", () => {
    let box: StandIns;
    let machines: FakeMachine[];
    let directory: string;
    let archive: string;
    const root = (machine: FakeMachine) => path.join(box.dir, `node-${machine.port}`);
    const read = (machine: FakeMachine, file: string) => fs.readFileSync(path.join(root(machine), file), "utf8");
    const exists = (machine: FakeMachine, file: string) => fs.existsSync(path.join(root(machine), file));

    beforeEach(async () => {
        box = standIns({
            pgrep: PGREP,
            nsenter: NSENTER,
            hostname: `cat "$NODE_ROOT/hostname"`,
            systemctl: `echo "$*" >> "$NODE_ROOT/systemctl.log"`,
            kubectl: `[ ! -e "$STANDINS/api-down" ]`,
            // the node is a folder: the script's and the remote command's paths are moved into it
            ssh: `port=""; rest=()
while [ $# -gt 0 ]; do case $1 in -p) port=$2; shift 2 ;; -i|-o) shift 2 ;; *) rest+=("$1"); shift ;; esac; done
export NODE_ROOT=$STANDINS/node-$port
into_node() { sed -e "s#/var/lib/etcd#$NODE_ROOT/var/lib/etcd#g" -e "s#/etc/kubernetes#$NODE_ROOT/etc/kubernetes#g" -e "s#/var/lib/homelab#$NODE_ROOT/var/lib/homelab#g" -e "s#/etc/homelab#$NODE_ROOT/etc/homelab#g" -e "s#^export PATH=#export PATH=$STANDINS:#"; }
if [ "\${rest[1]}" = "sudo -n bash -s" ]; then script=$(into_node); exec bash -c "$script"; fi
eval "$(echo "\${rest[1]}" | into_node | sed 's/^sudo -n //')"`,
        });
        machines = ["cp1", "cp2", "cp3"].map((name) => new FakeMachine(name));
        for (const [index, machine] of machines.entries()) {
            await machine.on();
            const node = root(machine);
            fs.mkdirSync(path.join(node, "etc/kubernetes/manifests"), { recursive: true });
            fs.mkdirSync(path.join(node, "etc/kubernetes/pki/etcd"), { recursive: true });
            // the cluster CA the snapshot's (makeArchive's) is
            for (const file of ["ca.crt", "ca.key", "etcd/ca.key"]) fs.writeFileSync(path.join(node, "etc/kubernetes/pki", file), `${file}\n`);
            fs.mkdirSync(path.join(node, "var/lib/etcd/member/snap"), { recursive: true });
            fs.writeFileSync(path.join(node, "var/lib/etcd/member/snap/db"), `live-data-${machine.name}`);
            fs.writeFileSync(path.join(node, "hostname"), machine.name);
            fs.writeFileSync(path.join(node, "etc/kubernetes/manifests/etcd.yaml"), `spec:\n  containers:\n  - command:\n    - etcd\n    - --name=${machine.name}\n    - --initial-advertise-peer-urls=https://10.0.0.${index + 1}:2380\n`);
            for (const component of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) fs.writeFileSync(path.join(node, `etc/kubernetes/manifests/${component}.yaml`), `${component}\n`);
        }
        directory = path.join(box.dir, "backups", "homelab");
        archive = makeArchive(directory, "homelab-etcd-20261205T235200Z.tar.gz");
    });
    afterEach(() => {
        for (const machine of machines) machine.off();
        box.cleanup();
    });

    function routine(change: { sha256?: string; keep?: number; stopTimeoutSeconds?: number } = {}) {
        const plan = {
            user: "homeuser",
            cluster: "homelab",
            file: archive,
            sha256: change.sha256 ?? createHash("sha256").update(fs.readFileSync(archive)).digest("hex"),
            nodes: machines.map((m) => ({ name: m.name, host: "127.0.0.1", port: m.port, hostKey: "ssh-ed25519 AAAA" })),
            receiveCommand: RECEIVE_SNAPSHOT_COMMAND,
            scripts: {
                check: renderRestoreCheckScript({ etcdTimeoutSeconds: 1 }),
                data: renderRestoreDataScript(),
                stop: renderRestoreStopScript({ timeoutSeconds: change.stopTimeoutSeconds ?? 5 }),
                start: renderRestoreStartScript(),
                health: renderRestoreCheckHealthScript({ timeoutSeconds: 5 }),
                release: renderRestoreReleaseScript(),
            },
            snapshot: { directory, keep: change.keep ?? 14, script: renderSnapshotScript({ clusterName: "homelab", etcdTimeoutSeconds: 1 }) },
        };
        return runRoutine("backup", [], { pathFirst: box.dir, env: { HOMELAB_RESTORE_PLAN: JSON.stringify(plan) }, routine: "restore-routine.js" });
    }
    /** Every node runs its own data with every manifest in place, and holds nothing of a restore. */
    function expectUntouched() {
        for (const machine of machines) {
            expect(read(machine, "var/lib/etcd/member/snap/db")).toBe(`live-data-${machine.name}`);
            for (const component of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) expect(exists(machine, `etc/kubernetes/manifests/${component}.yaml`)).toBe(true);
            expect(exists(machine, "var/lib/etcd/homelab-restore/previous-data")).toBe(false);
        }
    }

    test("every member is restored from the one snapshot, as one new cluster; the cluster as it was is kept first; every control plane runs again", async () => {
        const result = await routine({ keep: 1 });
        expect(result.stderr).not.toMatch(/refus|fail|unexpected/i);
        expect(result.code).toBe(0);
        const report = JSON.parse(result.stdout);
        expect(report).toMatchObject({ file: archive, takenAt: "2026-12-05T23:52:00Z", revision: 4242, members: ["cp1", "cp2", "cp3"], seconds: expect.any(Number) });
        for (const machine of machines) {
            expect(read(machine, "var/lib/etcd/member/snap/db")).toBe(BOLT_DB.toString("utf8"));
            expect(read(machine, "var/lib/etcd/member/name").trim()).toBe(machine.name);
            expect(read(machine, "var/lib/etcd/member/initial-cluster").trim()).toBe("cp1=https://10.0.0.1:2380,cp2=https://10.0.0.2:2380,cp3=https://10.0.0.3:2380");
            expect(read(machine, "var/lib/etcd/member/token")).toBe(read(machines[0], "var/lib/etcd/member/token"));
            expect(read(machine, "var/lib/etcd/homelab-restore/previous-data/snap/db")).toBe(`live-data-${machine.name}`);
            for (const component of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) expect(exists(machine, `etc/kubernetes/manifests/${component}.yaml`)).toBe(true);
            expect(read(machine, "systemctl.log")).toBe("restart kubelet\n");
            for (const left of ["snapshot.db", "data"]) expect(exists(machine, `var/lib/etcd/homelab-restore/${left}`)).toBe(false);
        }
        // the snapshot before the restore holds the live data; keep 1 did not prune the snapshot being restored
        expect(spawnSync("tar", ["-xzOf", report.before, "snapshot.db"], { encoding: "utf8" }).stdout).toBe("live-data-cp1");
        expect(fs.readdirSync(directory).sort()).toEqual([path.basename(archive), path.basename(report.before)].sort());
    });

    test("a control plane that does not answer: refused by name before anything is sent", async () => {
        machines[2].off();
        const result = await routine();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`a restore needs every control plane, and cp3 at 127.0.0.1:${machines[2].port} does not answer SSH: nothing stopped`);
        expectUntouched();
        expect(exists(machines[0], "var/lib/etcd/homelab-restore")).toBe(false);
    });

    test("an archive changed since the plan was made is refused", async () => {
        const result = await routine({ sha256: "0".repeat(64) });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`${archive} changed since the plan was made`);
        expectUntouched();
    });

    const CEPH = "8f2a5c1e-0c55-4b41-9d0a-3f0e1c2b4a6d";
    const snapshotMeta = (ceph: unknown) => JSON.stringify({ cluster: "homelab", node: "cp1", takenAt: "2026-12-05T23:52:00Z", etcd: { revision: 4242 }, ceph });
    const recordCeph = (machine: FakeMachine, fsid: string) => {
        fs.mkdirSync(path.join(root(machine), "etc/homelab/ceph"), { recursive: true });
        fs.writeFileSync(path.join(root(machine), "etc/homelab/ceph/fsid"), `${fsid}\n`);
    };
    test.each([
        ["a cluster whose CA is not the snapshot's (rebuilt with new CAs)", () => { fs.writeFileSync(path.join(root(machines[2]), "etc/kubernetes/pki/ca.crt"), "another CA\n"); },
            "cp3: this cluster's CA (", "is not the snapshot's (sha256"],
        ["disks holding a Ceph cluster the snapshot does not know (taken before storage)", () => { recordCeph(machines[0], CEPH); archive = makeArchive(directory, path.basename(archive), { meta: snapshotMeta(null) }); },
            `cp1: this node's disks hold Ceph cluster ${CEPH}`, "and the snapshot records no Ceph cluster: its Rook objects (the mons' fsid and keys) would take that cluster and its data out of reach; nothing stopped"],
        ["disks holding another Ceph cluster than the snapshot's (storage rebuilt since)", () => { recordCeph(machines[1], CEPH); archive = makeArchive(directory, path.basename(archive), { meta: snapshotMeta({ fsid: "00000000-1111-2222-3333-444444444444" }) }); },
            `cp2: this node's disks hold Ceph cluster ${CEPH}`, "the snapshot describes Ceph cluster 00000000-1111-2222-3333-444444444444"],
    ])("%s: refused before anything stops, every node as it was", async (_what, arrange, ...messages) => {
        arrange();
        const result = await routine();
        expect(result.code).toBe(1);
        for (const message of messages) expect(result.stderr).toContain(message);
        expectUntouched();
        for (const machine of machines) expect(exists(machine, "var/lib/etcd/homelab-restore/snapshot.db")).toBe(false);
    });

    test("disks holding the Ceph cluster the snapshot describes: restored", async () => {
        for (const machine of machines) recordCeph(machine, CEPH);
        archive = makeArchive(directory, path.basename(archive), { meta: snapshotMeta({ fsid: CEPH }) });
        const result = await routine();
        expect(result.stderr).not.toMatch(/refus|fail|unexpected/i);
        expect(result.code).toBe(0);
        for (const machine of machines) expect(read(machine, "var/lib/etcd/member/snap/db")).toBe(BOLT_DB.toString("utf8"));
    });

    test("a snapshot etcdutl cannot read on one node: refused before anything stops", async () => {
        fs.writeFileSync(path.join(root(machines[1]), "bad-snapshot"), "");
        const result = await routine();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("cp2: etcdutl cannot read the snapshot: invalid database; nothing stopped");
        expectUntouched();
        // what was sent beside the live data is gone again
        for (const machine of machines) expect(exists(machine, "var/lib/etcd/homelab-restore/snapshot.db")).toBe(false);
        expect(fs.readdirSync(directory)).toEqual([path.basename(archive)]);
    });

    test("a stop that does not complete puts every control plane back as it was", async () => {
        fs.writeFileSync(path.join(root(machines[2]), "stuck"), "");
        const result = await routine({ stopTimeoutSeconds: 1 });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("cp3: etcd or the API server still runs 1 s after their manifests were held");
        expect(result.stderr).toContain("the restore stopped before any data was swapped");
        expectUntouched();
        for (const machine of machines) expect(fs.readdirSync(path.join(root(machine), "etc/kubernetes/homelab-restore-held"))).toEqual([]);
    });
});
