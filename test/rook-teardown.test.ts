// What RookCeph runs on destroy, run by bash against a stand-in kubectl: the claims guard, the step
// that arms Rook's wipe, and the wait for Rook's cleanup jobs. A node's own wipe works on real disks:
// rook-disks.test.ts.
import * as fs from "fs";
import * as path from "path";
import { standIns } from "./helpers/standins";
import { renderCleanupArmScript, renderCleanupWaitScript, renderClaimsGuardScript } from "../components/rook/teardown";

const spec = { blockStorageClass: "ceph-block", filesystemStorageClass: "ceph-filesystem" };

// what the API would answer: /readyz (always with "answering", else after "misses" misses), the
// jsonpath output of `get pvc -A`, `get pv` and `get jobs`, and the names of the pools and
// filesystems left, from files of those names; every call is logged in "calls"
const api = standIns({
    sleep: "true",
    kubectl: `echo "$*" >> "$STANDINS/calls"
case "$*" in
  *"get --raw /readyz"*) echo x >> "$STANDINS/asked"; [ -f "$STANDINS/answering" ] || [ "$(wc -l < "$STANDINS/asked")" -gt "$(cat "$STANDINS/misses" 2>/dev/null || echo 99)" ] ;;
  *"get pvc -A"*) cat "$STANDINS/pvc" ;;
  *"get pv "*) cat "$STANDINS/pv" ;;
  *"get jobs"*) cat "$STANDINS/jobs" ;;
  *"get cephcluster rook-ceph"*) true ;;
  *"get cephblockpools,cephfilesystems -o name"*) cat "$STANDINS/left" ;;
  *"patch cephcluster rook-ceph"*) true ;;
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
        return api.run(renderCleanupWaitScript({ wipeDisksOnDestroy: true }), { "/etc/kubernetes/admin.conf": "admin.conf" });
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

describe("arming Rook's disk wipe, against a stand-in kubectl", () => {
    const calls = () => (fs.existsSync(path.join(api.dir, "calls")) ? fs.readFileSync(path.join(api.dir, "calls"), "utf8").trim().split("\n") : []);
    function arm(wipeDisksOnDestroy: boolean, left: string[]) {
        fs.writeFileSync(path.join(api.dir, "answering"), "");
        fs.writeFileSync(path.join(api.dir, "left"), lines(left));
        fs.rmSync(path.join(api.dir, "calls"), { force: true });
        return api.run(renderCleanupArmScript({ wipeDisksOnDestroy }), wipeDisksOnDestroy ? { "/etc/kubernetes/admin.conf": "admin.conf" } : {});
    }

    test("with the pools and the filesystem gone, it sets the cleanup policy", () => {
        const result = arm(true, []);
        expect(result.status).toBe(0);
        expect(calls().filter((call) => call.includes("patch cephcluster rook-ceph"))).toHaveLength(1);
        expect(result.stdout).toContain("cleanup policy set");
    });

    test("while a pool or filesystem is left the CephCluster is not going: it sets nothing and stops the destroy", () => {
        const result = arm(true, ["cephblockpool.ceph.rook.io/ceph-blockpool", "cephfilesystem.ceph.rook.io/ceph-filesystem"]);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("not arming Rook's disk wipe: cephblockpool.ceph.rook.io/ceph-blockpool cephfilesystem.ceph.rook.io/ceph-filesystem still exist(s)");
        expect(calls().some((call) => call.includes("patch"))).toBe(false);
    });

    test("with wipeDisksOnDestroy off at the last up, it asks nothing of the cluster and sets nothing", () => {
        const result = arm(false, []);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("wipeDisksOnDestroy was off at the last up: the cleanup policy is not set");
        expect(calls()).toEqual([]);
    });
});

test("with wipeDisksOnDestroy off, the wait for Rook's cleanup jobs asks nothing of the cluster", () => {
    fs.rmSync(path.join(api.dir, "calls"), { force: true });
    const result = api.run(renderCleanupWaitScript({ wipeDisksOnDestroy: false }));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("wipeDisksOnDestroy was off at the last up: Rook was not asked to wipe the disks");
    expect(fs.existsSync(path.join(api.dir, "calls"))).toBe(false);
});
