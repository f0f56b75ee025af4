// What RookCeph runs on destroy, run by bash: the claims guard and the wait for Rook's cleanup jobs
// against a stand-in kubectl, and a node's own wipe against real files for its disks and /var/lib/rook.
import * as fs from "fs";
import * as path from "path";
import { standIns } from "./helpers/standins";
import { renderCleanupWaitScript, renderClaimsGuardScript, renderNodeWipeScript } from "../components/rook/teardown";

const spec = { blockStorageClass: "ceph-block", filesystemStorageClass: "ceph-filesystem" };

// what the API would answer: /readyz (always with "answering", else after "misses" misses), and the
// jsonpath output of `get pvc -A`, `get pv` and `get jobs`, from files of those names
const api = standIns({
    sleep: "true",
    kubectl: `case "$*" in
  *"get --raw /readyz"*) echo x >> "$STANDINS/asked"; [ -f "$STANDINS/answering" ] || [ "$(wc -l < "$STANDINS/asked")" -gt "$(cat "$STANDINS/misses" 2>/dev/null || echo 99)" ] ;;
  *"get pvc -A"*) cat "$STANDINS/pvc" ;;
  *"get pv "*) cat "$STANDINS/pv" ;;
  *"get jobs"*) cat "$STANDINS/jobs" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
});
afterAll(() => api.cleanup());
fs.writeFileSync(path.join(api.dir, "admin.conf"), "");
const lines = (items: string[]) => items.map((line) => `${line}\n`).join("");

describe("the wait for Rook's cleanup jobs, against a stand-in kubectl", () => {
    const wait = (jobs: string[]) => {
        fs.writeFileSync(path.join(api.dir, "answering"), "");
        fs.writeFileSync(path.join(api.dir, "jobs"), lines(jobs));
        return api.run(renderCleanupWaitScript(), { "/etc/kubernetes/admin.conf": "admin.conf" });
    };

    test("jobs that all succeeded end the wait: Rook wiped the disks", () => {
        const result = wait(["cluster-cleanup-job-lab-1 1", "cluster-cleanup-job-lab-2 1", "rook-ceph-osd-prepare-lab-1 1"]);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("Rook wiped the disks and /var/lib/rook: cluster-cleanup-job-lab-1 cluster-cleanup-job-lab-2");
    });

    test("no cleanup job at all does not stop the destroy: the nodes' wipe steps come next", () => {
        const result = wait(["rook-ceph-osd-prepare-lab-1 1"]);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("[18/18] waiting for Rook to start its cleanup jobs");
        expect(result.stdout).toContain("Rook started no cleanup jobs in 3 minutes");
        expect(result.stdout).toContain("each node's wipe step, next, wipes its OSD disks and /var/lib/rook");
    });

    test("a job that never finishes is named, and the nodes' wipe steps do what it left", () => {
        const result = wait(["cluster-cleanup-job-lab-1 1", "cluster-cleanup-job-lab-2 "]);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("[60/60] cleanup jobs still running: cluster-cleanup-job-lab-2");
        expect(result.stdout).toContain("did not finish in 10 minutes (cluster-cleanup-job-lab-2): each node's wipe step, next, wipes what they left");
    });
});

describe("the claims guard, run by bash against a stand-in kubectl", () => {
    function guard(answers: { answering: boolean; pvc: string[]; pv: string[]; misses?: number }) {
        fs.rmSync(path.join(api.dir, "asked"), { force: true });
        if (answers.misses === undefined) fs.rmSync(path.join(api.dir, "misses"), { force: true }); else fs.writeFileSync(path.join(api.dir, "misses"), String(answers.misses));
        if (answers.answering) fs.writeFileSync(path.join(api.dir, "answering"), ""); else fs.rmSync(path.join(api.dir, "answering"), { force: true });
        fs.writeFileSync(path.join(api.dir, "pvc"), lines(answers.pvc));
        fs.writeFileSync(path.join(api.dir, "pv"), lines(answers.pv));
        return api.run(renderClaimsGuardScript(spec), { "/etc/kubernetes/admin.conf": "admin.conf" });
    }

    test("claims and volumes of the two classes stop the destroy, each named; other classes do not count", () => {
        const result = guard({
            answering: true,
            pvc: ["claim ceph-filesystem apps/shared", "claim ceph-block db/data-0", "claim local-path apps/scratch"],
            pv: ["volume ceph-filesystem pvc-1111", "volume ceph-block pvc-2222", "volume local-path pvc-3333", "volume ceph-block pvc-4444"],
        });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("destroy stopped before touching Ceph: these still use ceph-block or ceph-filesystem:");
        const listed = result.stderr.split("\n").filter((line) => line.startsWith("  ")).map((line) => line.trim());
        expect(listed).toEqual([
            "claim apps/shared (ceph-filesystem)", "claim db/data-0 (ceph-block)",
            "volume pvc-1111 (ceph-filesystem)", "volume pvc-2222 (ceph-block)", "volume pvc-4444 (ceph-block)",
        ]);
        expect(result.stderr).toContain("delete the claims");
    });

    test("with no claim or volume of the two classes the destroy goes on", () => {
        const result = guard({ answering: true, pvc: ["claim local-path apps/scratch"], pv: ["volume local-path pvc-3333"] });
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("no claim or volume uses ceph-block or ceph-filesystem");
    });

    test("a cluster that no longer answers does not hold the destroy", () => {
        const result = guard({ answering: false, pvc: ["claim ceph-block db/data-0"], pv: [] });
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("the cluster does not answer (6 tries, 10 s apart)");
        expect(fs.readFileSync(path.join(api.dir, "asked"), "utf8").trim().split("\n")).toHaveLength(6);
    });

    test("an API that misses a few answers is asked again: the guard still holds the destroy", () => {
        const result = guard({ answering: false, misses: 3, pvc: ["claim ceph-block db/data-0"], pv: [] });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("claim db/data-0 (ceph-block)");
    });
});

describe("a node's wipe, with files for its disks and its /var/lib/rook", () => {
    // pgrep answers with the pids in $STANDINS/daemons, one line per call, until the file runs out
    const node = standIns({
        sleep: "true",
        pgrep: `[ -s "$STANDINS/daemons" ] || exit 1
head -1 "$STANDINS/daemons"; sed -i 1d "$STANDINS/daemons"`,
    });
    afterAll(() => node.cleanup());
    const disk = (name: string) => path.join(node.dir, name);
    const MiB = 1048576;

    function prepare(daemons: string[] = []) {
        fs.writeFileSync(disk("daemons"), lines(daemons));
        // an OSD disk with a BlueStore label at its start and data further on
        const used = Buffer.alloc(3 * MiB, 0);
        used.write("bluestore block device\n", 0);
        used.write("data", 2 * MiB + 17);
        fs.writeFileSync(disk("sdb"), used);
        // one Rook's cleanup already zeroed at its start
        const zeroed = Buffer.alloc(2 * MiB, 0);
        zeroed.write("left after the first MiB", MiB + 5);
        fs.writeFileSync(disk("sdc"), zeroed);
        fs.rmSync(disk("rook"), { recursive: true, force: true });
        fs.mkdirSync(disk("rook/rook-ceph/mon-a/data"), { recursive: true });
        fs.writeFileSync(disk("rook/rook-ceph/mon-a/data/store.db"), "mon store");
    }
    const wipe = (devices: string[]) => node.run(renderNodeWipeScript({ hostname: "lab-1", osdDevices: devices }), { "/var/lib/rook": "rook" });
    const nonZeroBytes = (file: string, start: number, length: number) => [...fs.readFileSync(file).subarray(start, start + length)].filter((byte) => byte !== 0).length;

    test("zeroes the start of a disk Ceph used, leaves a blank one alone, says so for a missing one, and empties /var/lib/rook", () => {
        prepare();
        const result = wipe([disk("sdb"), disk("sdc"), disk("sdz")]);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain(`zeroed the first 3 MiB of ${disk("sdb")}: no Ceph label is left on it`);
        expect(nonZeroBytes(disk("sdb"), 0, 3 * MiB)).toBe(0);
        expect(fs.statSync(disk("sdb")).size).toBe(3 * MiB);
        expect(result.stdout).toContain(`${disk("sdc")} is blank at its start already (Rook's cleanup zeroes it): nothing to wipe`);
        expect(nonZeroBytes(disk("sdc"), MiB, MiB)).toBeGreaterThan(0);
        expect(result.stdout).toContain(`${disk("sdz")} is not on lab-1: nothing to wipe`);
        expect(result.stdout).toContain(`emptied ${disk("rook")} on lab-1`);
        expect(fs.readdirSync(disk("rook"))).toEqual([]);
    });

    test("run again, it finds nothing to do", () => {
        prepare();
        expect(wipe([disk("sdb")]).status).toBe(0);
        const again = wipe([disk("sdb")]);
        expect(again.status).toBe(0);
        expect(again.stdout).toContain(`${disk("sdb")} is blank at its start already`);
        expect(again.stdout).toContain(`${disk("rook")} on lab-1 is empty already`);
        expect(again.stdout).not.toContain("zeroed");
    });

    test("it waits for Ceph's daemons on the node to stop before it touches a disk", () => {
        prepare(["4242 4243", "4243"]);
        const result = wipe([disk("sdb")]);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("[1/30] waiting for Ceph's daemons on lab-1 to stop (pids 4242 4243)");
        expect(result.stdout).toContain("[2/30] waiting for Ceph's daemons on lab-1 to stop (pids 4243)");
        expect(nonZeroBytes(disk("sdb"), 0, 3 * MiB)).toBe(0);
    });

    test("daemons that never stop fail the step, and nothing is wiped", () => {
        prepare(Array.from({ length: 40 }, () => "4242"));
        const result = wipe([disk("sdb")]);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("Ceph's daemons still run on lab-1 (pids 4242) 5 minutes after the CephCluster was deleted");
        expect(result.stderr).toContain("were NOT wiped; the next destroy tries again");
        expect(nonZeroBytes(disk("sdb"), 0, MiB)).toBeGreaterThan(0);
        expect(fs.readdirSync(disk("rook"))).toEqual(["rook-ceph"]);
    });
});
