// RookCeph's steps for OSD hosts that left the config and for OSDs a replaced machine left behind, run by bash against a stand-in kubectl that
// answers the ceph commands (run in the operator's pod) from files: which hosts Ceph's CRUSH map
// has, their OSDs, which are up, the placement groups. Every call is logged in order.
import * as fs from "fs";
import * as path from "path";
import { renderOsdDeparturesScript } from "../components/rook/departures";
import { renderReplacedOsdsScript } from "../components/rook/replacements";
import { expectScriptGolden } from "./helpers/golden";
import { standIns } from "./helpers/standins";

const ceph = standIns({
    sleep: "true",
    // a clock that moves 100 s at every look, so bounded waits end at once
    date: `if [ "$1" = +%s ]; then n=$(cat "$STANDINS/clock" 2>/dev/null || echo 1000); echo $((n + 100)) > "$STANDINS/clock"; echo "$n"; else exec /bin/date "$@"; fi`,
    kubectl: `args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do [ "\${args[i]}" = ceph ] && break; done
if [ "$i" -lt "\${#args[@]}" ]; then
  cmd=()
  for arg in "\${args[@]:i+1}"; do case "$arg" in --conf=*|--keyring=*|--connect-timeout=*) ;; *) cmd+=("$arg") ;; esac; done
  set -- "\${cmd[@]}"
  echo "ceph $*" >> "$STANDINS/calls"
  case "$*" in
    "osd crush ls default") cat "$STANDINS/hosts" ;;
    "osd ls-tree "*) cat "$STANDINS/tree-$3" 2>/dev/null || true ;;
    "osd dump") for f in "$STANDINS"/tree-*; do for id in $(cat "$f"); do if [ -f "$STANDINS/down-$id" ]; then echo "osd.$id down out"; else echo "osd.$id up   in"; fi; done; done ;;
    "pg stat") cat "$STANDINS/pgs" ;;
    "osd safe-to-destroy "*) [ -f "$STANDINS/safe" ] ;;
    "osd out "*|"osd purge "*|"osd crush rm "*) true ;;
    *) echo "unexpected: ceph $*" >&2; exit 2 ;;
  esac
  exit
fi
echo "kubectl $*" >> "$STANDINS/calls"
case "$*" in
  *"get cephcluster rook-ceph -o jsonpath={.status.ceph.fsid}") cat "$STANDINS/fsid" ;;
  *"scale deployment rook-ceph-osd-"*) all="$*"; id=\${all##*rook-ceph-osd-}; touch "$STANDINS/down-\${id%% *}" ;;
  *"delete deployment rook-ceph-osd-"*) true ;;
  *"delete pod -l app=rook-ceph-operator --wait=false") for f in "$STANDINS"/back-*; do [ -e "$f" ] && rm -f "$STANDINS/down-\${f##*back-}"; done; true ;;
  *"get node "*" --ignore-not-found -o jsonpath={.metadata.creationTimestamp}") all="$*"; host=\${all##*get node }; cat "$STANDINS/node-\${host%% *}" 2>/dev/null || true ;;
  *"get deployment rook-ceph-osd-"*" --ignore-not-found -o jsonpath={.metadata.creationTimestamp}") all="$*"; id=\${all##*rook-ceph-osd-}; cat "$STANDINS/made-\${id%% *}" 2>/dev/null || true ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
});
afterAll(() => ceph.cleanup());

const node = (hostname: string) => ({ hostname, osdDevices: ["/dev/sdb"] });
const threeHosts = { nodes: ["lab-1", "lab-2", "lab-3"].map(node), poolSize: 3, healthTimeoutMinutes: 5 };

interface CephState { fsid?: string; hosts: string[]; trees: Record<string, number[]>; clean?: boolean; safe?: boolean; down?: number[]; nodesRegistered?: Record<string, string>; osdsMade?: Record<number, string>; upOnOperatorStart?: number[] }

function run(spec: Parameters<typeof renderOsdDeparturesScript>[0], ceph_: CephState, render: (spec: any) => string = renderOsdDeparturesScript) {
    for (const file of fs.readdirSync(ceph.dir)) {
        if (/^(calls|clock|fsid|hosts|tree-|down-|pgs|safe|node-|made-|back-)/.test(file)) fs.rmSync(path.join(ceph.dir, file));
    }
    for (const id of ceph_.upOnOperatorStart ?? []) fs.writeFileSync(path.join(ceph.dir, `back-${id}`), "");
    for (const id of ceph_.down ?? []) fs.writeFileSync(path.join(ceph.dir, `down-${id}`), "");
    for (const [host, time] of Object.entries(ceph_.nodesRegistered ?? {})) fs.writeFileSync(path.join(ceph.dir, `node-${host}`), time);
    for (const [id, time] of Object.entries(ceph_.osdsMade ?? {})) fs.writeFileSync(path.join(ceph.dir, `made-${id}`), time);
    fs.writeFileSync(path.join(ceph.dir, "fsid"), ceph_.fsid ?? "6b1c0e0e-0000-4000-8000-000000000000");
    fs.writeFileSync(path.join(ceph.dir, "hosts"), ceph_.hosts.map((host) => `${host}\n`).join(""));
    for (const [host, ids] of Object.entries(ceph_.trees)) fs.writeFileSync(path.join(ceph.dir, `tree-${host}`), ids.map((id) => `${id}\n`).join(""));
    fs.writeFileSync(path.join(ceph.dir, "pgs"), ceph_.clean === false ? "97 pgs: 12 active+undersized+degraded, 85 active+clean; 2.1 MiB data\n" : "97 pgs: 97 active+clean; 2.1 MiB data\n");
    if (ceph_.safe !== false) fs.writeFileSync(path.join(ceph.dir, "safe"), "");
    const result = ceph.run(render(spec), { "/etc/kubernetes/admin.conf": "admin.conf" });
    const callsFile = path.join(ceph.dir, "calls");
    const calls = fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").trim().split("\n") : [];
    return { status: result.status, output: result.stdout + result.stderr, calls };
}
fs.writeFileSync(path.join(ceph.dir, "admin.conf"), "");
const changes = (calls: string[]) => calls.filter((call) => /osd (out|purge|crush rm)|scale|delete/.test(call));
const fourHosts = { hosts: ["lab-1", "lab-2", "lab-3", "lab-4"], trees: { "lab-1": [0], "lab-2": [1], "lab-3": [2], "lab-4": [3] } };

describe("OSD hosts that left the config", () => {
    test("golden", () => {
        expectScriptGolden("osd-departures.sh", renderOsdDeparturesScript(threeHosts));
    });

    test("a cluster never up, or one whose map matches the config, changes nothing", () => {
        expect(run(threeHosts, { fsid: "", hosts: [], trees: {} })).toMatchObject({ status: 0, calls: ["kubectl --kubeconfig " + path.join(ceph.dir, "admin.conf") + " -n rook-ceph get cephcluster rook-ceph -o jsonpath={.status.ceph.fsid}"] });
        const same = run(threeHosts, { hosts: ["lab-1", "lab-2", "lab-3"], trees: { "lab-1": [0], "lab-2": [1], "lab-3": [2] } });
        expect(same.status).toBe(0);
        expect(same.output).toContain("every OSD host in Ceph's map is in the config (lab-1 lab-2 lab-3)");
        expect(changes(same.calls)).toEqual([]);
    });

    test("a host taken out: its OSD out, a wait for clean placement groups, then stopped, purged and its host removed, in that order", () => {
        const { status, output, calls } = run(threeHosts, fourHosts);
        expect({ status, output }).toMatchObject({ status: 0 });
        expect(changes(calls).map((call) => call.replace(/^kubectl --kubeconfig \S+ /, ""))).toEqual([
            "ceph osd out 3",
            "-n rook-ceph scale deployment rook-ceph-osd-3 --replicas=0",
            "ceph osd purge 3 --yes-i-really-mean-it",
            "-n rook-ceph delete deployment rook-ceph-osd-3 --ignore-not-found",
            "ceph osd crush rm lab-4",
        ]);
        // the wait for clean placement groups and Ceph's own safety check come between out and the stop
        const out = calls.indexOf("ceph osd out 3"), safe = calls.indexOf("ceph osd safe-to-destroy 3");
        expect(safe).toBeGreaterThan(out);
        expect(calls.findIndex((call) => call.includes("scale deployment"))).toBeGreaterThan(safe);
        expect(output).toContain("every placement group is active+clean without osd.3");
    });

    test("placement groups that never get clean: the OSD stays out with its data, nothing is purged, the up fails saying so", () => {
        const { status, output, calls } = run(threeHosts, { ...fourHosts, clean: false, safe: false });
        expect(status).toBe(1);
        expect(output).toContain("after 300 s Ceph still needs osd.3 (placement groups: 97 pgs: 12 active+undersized+degraded");
        expect(changes(calls)).toEqual(["ceph osd out 3"]);
    });

    test("too few hosts left for the pool size, or a new host without an OSD up yet: refused before any change", () => {
        const tooFew = run({ ...threeHosts, nodes: threeHosts.nodes.slice(0, 2) }, fourHosts);
        expect(tooFew.status).toBe(1);
        expect(tooFew.output).toContain("refusing: without lab-3 lab-4 Ceph would have 2 OSD host(s) for storage.poolSize 3");
        expect(changes(tooFew.calls)).toEqual([]);
        const swapped = run({ ...threeHosts, nodes: ["lab-1", "lab-2", "lab-5"].map(node) }, { ...fourHosts, hosts: ["lab-1", "lab-2", "lab-4"] });
        expect(swapped.status).toBe(1);
        expect(swapped.output).toContain("no OSD is up on lab-5 after 300 s; lab-4 stay(s) in Ceph");
        expect(changes(swapped.calls)).toEqual([]);
    });
});

describe("OSDs a replaced machine left behind", () => {
    const machines = { "lab-1": "1a".repeat(32), "lab-2": "2b".repeat(32), "lab-3": "3c".repeat(32) };
    const replacements = (spec: typeof threeHosts) => renderReplacedOsdsScript({ ...spec, machines });
    // lab-3's machine was replaced: its Node registered at 12:00; osd.2 (made at install) is down, osd.5 the new disk's
    const replaced = {
        hosts: ["lab-1", "lab-2", "lab-3"], trees: { "lab-1": [0], "lab-2": [1], "lab-3": [2, 5] }, down: [2],
        nodesRegistered: { "lab-1": "2026-12-01T09:00:00Z", "lab-2": "2026-12-01T09:05:00Z", "lab-3": "2026-12-07T12:00:00Z" },
        osdsMade: { 0: "2026-12-01T09:20:00Z", 1: "2026-12-01T09:20:00Z", 2: "2026-12-01T09:20:00Z", 5: "2026-12-07T12:10:00Z" },
    };

    test("golden", () => {
        expectScriptGolden("replaced-osds.sh", replacements(threeHosts));
    });

    test("the old machine's down OSD: out once the new machine's OSD is up, a wait for clean placement groups, then stopped and purged; the host stays", () => {
        const { status, output, calls } = run(threeHosts, replaced, replacements);
        expect({ status, output }).toMatchObject({ status: 0 });
        expect(output).toContain("osd.2 on lab-3 is down, made 2026-12-01T09:20:00Z, before lab-3's Node (2026-12-07T12:00:00Z): the old machine's");
        expect(changes(calls).map((call) => call.replace(/^kubectl --kubeconfig \S+ /, ""))).toEqual([
            // the dead OSD's deployment goes, and Rook prepares the new machine's disks when its operator starts
            "-n rook-ceph delete deployment rook-ceph-osd-2 --ignore-not-found",
            "-n rook-ceph delete pod -l app=rook-ceph-operator --wait=false",
            "ceph osd out 2",
            "-n rook-ceph scale deployment rook-ceph-osd-2 --replicas=0",
            "ceph osd purge 2 --yes-i-really-mean-it",
            "-n rook-ceph delete deployment rook-ceph-osd-2 --ignore-not-found",
        ]);
        expect(calls.indexOf("ceph osd safe-to-destroy 2")).toBeGreaterThan(calls.indexOf("ceph osd out 2"));
    });

    test("never touched: OSDs that are up, a down OSD younger than its host's Node (a disk failing, a node off), a cluster never up", () => {
        const allUp = run(threeHosts, { ...replaced, down: [] }, replacements);
        expect(allUp).toMatchObject({ status: 0 });
        expect(allUp.output).toContain("no OSD left behind by a replaced machine");
        expect(changes(allUp.calls)).toEqual([]);
        const young = run(threeHosts, { ...replaced, down: [5] }, replacements);
        expect(young.status).toBe(0);
        expect(changes(young.calls)).toEqual([]);
        const never = run(threeHosts, { ...replaced, fsid: "" }, replacements);
        expect(never.status).toBe(0);
        expect(changes(never.calls)).toEqual([]);
    });

    test("an old OSD up again once the operator prepared the new machine's disks (its disk moved into it): kept", () => {
        // osd.2 is down until the operator starts again and finds its disk in the new machine
        const { status, output, calls } = run(threeHosts, { ...replaced, upOnOperatorStart: [2] }, replacements);
        expect({ status, output }).toMatchObject({ status: 0 });
        expect(output).toContain("osd.2 is up again: kept");
        expect(changes(calls).map((call) => call.replace(/^kubectl --kubeconfig \S+ /, ""))).toEqual(["-n rook-ceph delete deployment rook-ceph-osd-2 --ignore-not-found", "-n rook-ceph delete pod -l app=rook-ceph-operator --wait=false"]);
    });

    test("the new machine has no OSD up yet, or the placement groups never get clean: the old OSD keeps its data, the up fails saying so", () => {
        const noNewOsd = run(threeHosts, { ...replaced, trees: { ...replaced.trees, "lab-3": [2] } }, replacements);
        expect(noNewOsd.status).toBe(1);
        expect(noNewOsd.output).toContain("no OSD is up on lab-3 after 300 s; the old machines' OSDs stay in Ceph (down)");
        // nothing of Ceph's changes: the dead OSD keeps its place in the map (its deployment, gone, is the operator's to remake)
        expect(noNewOsd.calls.filter((call) => /^ceph osd (out|purge)/.test(call))).toEqual([]);
        const unclean = run(threeHosts, { ...replaced, clean: false, safe: false }, replacements);
        expect(unclean.status).toBe(1);
        expect(unclean.output).toContain("after 300 s Ceph still needs osd.2");
        expect(unclean.calls.filter((call) => /^ceph osd (out|purge)/.test(call))).toEqual(["ceph osd out 2"]);
    });
});
