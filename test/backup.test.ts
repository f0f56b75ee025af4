// ClusterBackup: when a snapshot is due, the script that takes it on a control plane (golden,
// shellcheck, run against stand-in pgrep and nsenter), the component's plan, and its routine run for real
// against fake machines on loopback and a stand-in ssh: the copy is checked, kept with tight
// modes, and only this cluster's oldest snapshots beyond `keep` are removed.
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
import { FSID_FILE } from "../components/rook/disks";
import { renderSnapshotScript, snapshotDue, snapshotFileName, snapshotTakenAt } from "../components/backup/render";

installMocks();
const { ClusterBackup } = require("../components/backup") as typeof import("../components/backup");

const STATUS = '{"hash":3735928559,"revision":4242,"totalKey":917,"totalSize":13,"version":"3.7.0"}';
/** pgrep: etcd runs (unless $STANDINS/etcd-down). */
const PGREP = `case "$*" in "-o -x etcd"|"-x etcd") ;; *) echo "pgrep stand-in: unexpected $*" >&2; exit 2 ;; esac
[ -e "$STANDINS/etcd-down" ] && exit 1
echo 4242`;
/** nsenter into etcd's mount namespace: etcdctl answers healthy and writes a snapshot, etcdutl describes it. */
const NSENTER = `[ "$1 $2 $3" = "-t 4242 -m" ] && [ "$4" = "--" ] || { echo "nsenter stand-in: unexpected $*" >&2; exit 2; }
shift 4
tool=$1; shift
case "$tool $*" in
  "etcdctl "*"endpoint health") echo "127.0.0.1:2379 is healthy" ;;
  "etcdctl "*"snapshot save "*) for last; do :; done; printf 'etcd-db-bytes' > "$last"; echo "Snapshot saved at $last" ;;
  "etcdutl snapshot status "*) [ -f "$3" ] && echo '${STATUS}' ;;
  *) echo "nsenter stand-in: unexpected $tool $*" >&2; exit 1 ;;
esac`;

describe("when a snapshot is due", () => {
    const now = new Date("2026-12-05T12:00:00Z");
    test("none kept yet, the newest as old as the interval, or a planned power-off; each reason says when it was seen", () => {
        expect(snapshotDue({ everyHours: 24, now, powerOffPlanned: false })).toBe("no snapshot kept yet (seen 2026-12-05T12:00:00.000Z)");
        expect(snapshotDue({ newest: new Date("2026-12-04T12:00:00Z"), everyHours: 24, now, powerOffPlanned: false }))
            .toBe("the newest snapshot, taken 2026-12-04T12:00:00.000Z, is older than 24 h (seen 2026-12-05T12:00:00.000Z)");
        expect(snapshotDue({ newest: new Date("2026-12-04T12:00:01Z"), everyHours: 24, now, powerOffPlanned: false })).toBeUndefined();
        expect(snapshotDue({ newest: new Date("2026-12-05T11:59:00Z"), everyHours: 24, now, powerOffPlanned: true })).toBe("before the planned power-off (seen 2026-12-05T12:00:00.000Z)");
    });

    test("names sort by time and are read back; another cluster's or another file's are not", () => {
        const name = snapshotFileName("home", new Date("2026-12-05T09:08:07.654Z"));
        expect(name).toBe("home-etcd-20261205T090807Z.tar.gz");
        expect(snapshotTakenAt("home", name)).toEqual(new Date("2026-12-05T09:08:07Z"));
        expect(snapshotTakenAt("homelab", name)).toBeUndefined();
        expect(snapshotTakenAt("home", `${name}.part`)).toBeUndefined();
        expect(snapshotTakenAt("home", "home-etcd-20261345T090807Z.tar.gz")).toBeUndefined();
    });
});

describe("the snapshot script on a control plane", () => {
    let box: StandIns;
    const paths = { "/var/lib/etcd/homelab-snapshot": "etcd-work", "/var/lib/homelab/snapshot": "staging", "/etc/kubernetes/pki": "pki", [FSID_FILE]: "ceph-fsid" };
    beforeEach(() => {
        box = standIns({ pgrep: PGREP, nsenter: NSENTER });
        fs.mkdirSync(path.join(box.dir, "pki", "etcd"), { recursive: true });
        for (const file of ["ca.key", "ca.crt", "etcd/ca.key"]) fs.writeFileSync(path.join(box.dir, "pki", file), `${file}\n`);
    });
    afterEach(() => box.cleanup());

    test("golden and shellcheck clean", () => {
        expectScriptGolden("snapshot.sh", renderSnapshotScript({ clusterName: "homelab" }));
    });

    test("stdout is the archive: the snapshot, etcdutl's status, the PKI and what says which cluster; stderr ends with its sha256; nothing is left behind", () => {
        const result = spawnSync("bash", ["-c", box.runnable(renderSnapshotScript({ clusterName: "homelab" }), paths)], { timeout: 60000 });
        expect(result.stderr.toString()).toContain(`${os.hostname()}: snapshot of etcd at revision 4242, 13 bytes, with ${box.dir}/pki`);
        expect(result.status).toBe(0);
        const archive = result.stdout as Buffer;
        const announced = /^archive-sha256 ([0-9a-f]{64})$/m.exec(result.stderr.toString())?.[1];
        expect(announced).toBe(createHash("sha256").update(archive).digest("hex"));
        const file = path.join(box.dir, "copy.tar.gz");
        fs.writeFileSync(file, archive);
        expect(spawnSync("tar", ["-tzf", file], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).sort())
            .toEqual(["meta.json", "pki/", "pki/ca.crt", "pki/ca.key", "pki/etcd/", "pki/etcd/ca.key", "snapshot.db", "status.json"]);
        const meta = JSON.parse(spawnSync("tar", ["-xzOf", file, "meta.json"], { encoding: "utf8" }).stdout);
        // no Ceph recorded on this node: the snapshot says it holds none
        expect(meta).toEqual({ cluster: "homelab", node: os.hostname(), takenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), etcd: JSON.parse(STATUS), ceph: null });
        expect(spawnSync("tar", ["-xzOf", file, "snapshot.db"], { encoding: "utf8" }).stdout).toBe("etcd-db-bytes");
        for (const left of ["etcd-work", "staging", "staging.tar.gz"]) expect(fs.existsSync(path.join(box.dir, left))).toBe(false);
    });

    test("on a node whose disks belong to a Ceph cluster, the snapshot records that cluster's fsid", () => {
        const fsid = "8f2a5c1e-0c55-4b41-9d0a-3f0e1c2b4a6d";
        fs.writeFileSync(path.join(box.dir, "ceph-fsid"), `${fsid}\n`);
        const result = spawnSync("bash", ["-c", box.runnable(renderSnapshotScript({ clusterName: "homelab" }), paths)], { timeout: 60000 });
        expect(result.status).toBe(0);
        const meta = JSON.parse(spawnSync("tar", ["-xzOf", "-", "meta.json"], { input: result.stdout, encoding: "utf8" }).stdout);
        expect(meta.ceph).toEqual({ fsid });
    });

    test("etcd not running: refused by name after the bounded wait, no archive on stdout", () => {
        fs.writeFileSync(path.join(box.dir, "etcd-down"), "");
        const result = spawnSync("bash", ["-c", box.runnable(renderSnapshotScript({ clusterName: "homelab", etcdTimeoutSeconds: 1 }), paths)], { encoding: "utf8", timeout: 60000 });
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain(`${os.hostname()}: etcd does not run here or does not answer healthy after 1 s`);
    });
});

describe("ClusterBackup's plan", () => {
    beforeEach(resetRegistered);
    const args = (due?: string) => ({
        clusterName: "homelab",
        controlPlanes: [{ name: "cp1", host: "10.0.0.1", port: 22, hostKey: "ssh-ed25519 AAAA" }],
        directory: "/home/me/backups/homelab",
        keep: 3,
        due,
        user: "homeuser",
        privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n-----END OPENSSH PRIVATE KEY-----\n",
    });

    test("not due: nothing planned (the triggers are ignored); the key goes on stdin as a secret, never into the plan", async () => {
        new ClusterBackup("quiet", args());
        await settle();
        const snapshot = registered.find((r) => r.name === "quiet-snapshot")!;
        expect(snapshot.ignoreChanges).toEqual(["triggers"]);
        expect(snapshot.inputs.triggers).toEqual(["not due"]);
        expect(snapshot.inputs.update).toBe("true");
        expect(snapshot.inputs.create).toMatch(/^node \S*components\/backup\/routine\.js$/);
        expect(JSON.stringify(snapshot.inputs.environment)).not.toContain("secret");
        expect(secretValue(snapshot.inputs.stdin)).toContain("BEGIN OPENSSH PRIVATE KEY");
    });

    test("due: the reason is the trigger, so the step is replaced and runs", async () => {
        new ClusterBackup("due", args("no snapshot kept yet (seen 2026-12-05T12:00:00.000Z)"));
        await settle();
        const snapshot = registered.find((r) => r.name === "due-snapshot")!;
        expect(snapshot.ignoreChanges).toEqual([]);
        expect(snapshot.inputs.triggers).toEqual(["no snapshot kept yet (seen 2026-12-05T12:00:00.000Z)"]);
        const plan = JSON.parse(snapshot.inputs.environment.HOMELAB_BACKUP_PLAN);
        expect(plan).toMatchObject({ cluster: "homelab", directory: "/home/me/backups/homelab", keep: 3, user: "homeuser", nodes: [{ name: "cp1", host: "10.0.0.1", port: 22, hostKey: "ssh-ed25519 AAAA" }] });
        expect(plan.script).toBe(renderSnapshotScript({ clusterName: "homelab" }));
    });
});

describe("the routine, against fake machines and a stand-in ssh", () => {
    let box: StandIns;
    let machines: FakeMachine[];
    let directory: string;

    beforeEach(async () => {
        // ssh runs the script here; it fails on the port in $STANDINS/fail-port, and flips the archive's last byte with $STANDINS/corrupt
        box = standIns({
            pgrep: PGREP,
            nsenter: NSENTER,
            ssh: `port=""
while [ $# -gt 0 ]; do case $1 in -p) port=$2; shift 2 ;; -i|-o) shift 2 ;; *) shift ;; esac; done
if [ "$port" = "$(cat "$STANDINS/fail-port" 2>/dev/null)" ]; then cat > /dev/null; echo "etcd does not run here" >&2; exit 1; fi
if [ -e "$STANDINS/corrupt" ]; then bash -s > "$STANDINS/out"; code=$?; head -c -1 "$STANDINS/out"; printf x; exit $code; fi
exec bash -s`,
        });
        fs.mkdirSync(path.join(box.dir, "pki", "etcd"), { recursive: true });
        for (const file of ["ca.key", "etcd/ca.key"]) fs.writeFileSync(path.join(box.dir, "pki", file), `${file}\n`);
        directory = path.join(box.dir, "backups", "homelab");
        machines = ["cp1", "cp2"].map((name) => new FakeMachine(name));
        for (const machine of machines) await machine.on();
    });
    afterEach(() => {
        for (const machine of machines) machine.off();
        box.cleanup();
    });

    function routine(keep = 14, spare: string[] = []) {
        const plan = {
            user: "homeuser",
            cluster: "homelab",
            directory,
            keep,
            spare,
            nodes: machines.map((m) => ({ name: m.name, host: "127.0.0.1", port: m.port, hostKey: "ssh-ed25519 AAAA" })),
            script: box.runnable(renderSnapshotScript({ clusterName: "homelab" }), { "/var/lib/etcd/homelab-snapshot": "etcd-work", "/var/lib/homelab/snapshot": "staging", "/etc/kubernetes/pki": "pki" }),
        };
        return runRoutine("backup", [], { pathFirst: box.dir, env: { HOMELAB_BACKUP_PLAN: JSON.stringify(plan) } });
    }
    const kept = () => fs.readdirSync(directory).sort();

    test("the first control plane that answers is snapshotted; the copy is kept readable by its owner only and reported on stdout", async () => {
        machines[0].off();
        const result = await routine();
        expect(result.stderr).not.toContain("failed");
        expect(result.code).toBe(0);
        const report = JSON.parse(result.stdout);
        expect(report).toEqual({ file: path.join(directory, kept()[0]), node: "cp2", at: expect.any(String), bytes: fs.statSync(report.file).size, revision: 4242 });
        expect(snapshotTakenAt("homelab", path.basename(report.file))).toBeDefined();
        expect(fs.statSync(directory).mode & 0o777).toBe(0o700);
        expect(fs.statSync(report.file).mode & 0o777).toBe(0o600);
        expect(spawnSync("tar", ["-xzOf", report.file, "snapshot.db"], { encoding: "utf8" }).stdout).toBe("etcd-db-bytes");
    });

    test("only this cluster's oldest snapshots beyond keep are removed, once the new one is checked", async () => {
        fs.mkdirSync(directory, { recursive: true });
        const older = ["homelab-etcd-20250101T000000Z.tar.gz", "homelab-etcd-20250102T000000Z.tar.gz", "homelab-etcd-20250103T000000Z.tar.gz"];
        const others = ["other-etcd-20240101T000000Z.tar.gz", "notes.txt"];
        for (const file of [...older, ...others]) fs.writeFileSync(path.join(directory, file), "old");
        const result = await routine(2);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain(`removed the oldest snapshots beyond 2: ${older[0]}, ${older[1]}`);
        expect(kept()).toEqual([older[2], path.basename(JSON.parse(result.stdout).file), ...others].sort());
    });

    test("the snapshot backups.restoreFrom names is never pruned, however old", async () => {
        fs.mkdirSync(directory, { recursive: true });
        const older = ["homelab-etcd-20250101T000000Z.tar.gz", "homelab-etcd-20250102T000000Z.tar.gz"];
        for (const file of older) fs.writeFileSync(path.join(directory, file), "old");
        const result = await routine(1, [older[0]]);
        expect(result.code).toBe(0);
        expect(kept()).toEqual([older[0], path.basename(JSON.parse(result.stdout).file)].sort());
    });

    test("a copy that differs from the node's archive is refused and removed; nothing older is pruned", async () => {
        fs.mkdirSync(directory, { recursive: true });
        fs.writeFileSync(path.join(directory, "homelab-etcd-20250101T000000Z.tar.gz"), "old");
        fs.writeFileSync(path.join(box.dir, "corrupt"), "");
        const result = await routine(1);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/differs from the archive on the node \(sha256 [0-9a-f]{64}, the node's [0-9a-f]{64}\)/);
        expect(result.stderr).toContain("no snapshot taken");
        expect(kept()).toEqual(["homelab-etcd-20250101T000000Z.tar.gz"]);
    });

    test("a control plane whose snapshot fails is passed over for the next", async () => {
        fs.writeFileSync(path.join(box.dir, "fail-port"), String(machines[0].port));
        const result = await routine();
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("the snapshot on cp1 failed (exit 1); trying the next control plane");
        expect(JSON.parse(result.stdout).node).toBe("cp2");
    });

    test("no control plane answering: refused by name, nothing written", async () => {
        for (const machine of machines) machine.off();
        const result = await routine();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("no control plane answers SSH (cp1 at 127.0.0.1:");
        expect(fs.existsSync(directory)).toBe(false);
    });
});
