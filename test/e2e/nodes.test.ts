// End to end, nodes that come and go (npm run test:e2e:nodes, issue 20), on four machines: the
// committed lab stack plus lab-4, a worker with an OSD disk. It converges with four OSD hosts and
// data on CephFS and RBD; removals that would leave too few OSD hosts or an even number of control
// planes are refused at preview; then lab-4 is taken out of the config, and one up takes its OSD
// out of Ceph (the data copied elsewhere first), drains it, deletes its Node and powers it off,
// while a probe asks the API through the VIP every second and the data is read back throughout.
// Then lab-4 comes back, and dies: taken out of the config, the up fails on its own steps (they
// connect to it); after scripts/forget-node.js the next up finishes, with nothing of lab-4 left.
// Last, lab-3 (a control plane with an OSD) dies for good and a new machine takes its place under
// its name (a new MAC, blank disks): after forget-node --replaced, one up joins it while the API
// answers through the VIP; the old etcd member, Node and OSD are gone, HEALTH_OK. Then the same for
// lab-1, the first control plane: forget-node refuses while the config lists it first; listed after
// lab-2 and lab-3, lab-2 takes over the cluster's steps and the new lab-1 joins as the others did.
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { editStackConfig, ROOT, scratchProject, ScratchProject } from "../integration/project";
import { apiProbe, cephClient, sampler, changes, kubectlClient, offlineKubectl, rbdImage, startClaimsAndUser, timedUp } from "./cluster";
import { formatSpans, StepClock } from "./figures";
import { IN_ETCD } from "../../components/etcd";
import { inside, isOn, lab, NODES, VIP } from "./lab";

jest.setTimeout(120 * 60 * 1000);

const NAMESPACE = "homelab-nodes-e2e";
/** Powered off in the lab from the start; in the stack from test 1 until test 3 takes it out. */
const FOURTH = { hostname: "lab-4", mac: "52:54:00:77:00:14", sshAddress: "192.168.77.14", internalAddress: "10.77.0.14", role: "worker", osdDevices: ["/dev/loop14"] };

// The lab builds its machines from this file: the committed three plus the fourth.
const LAB_MACHINES_FILE = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "homelab-lab-")), "Pulumi.lab.yaml");
const labStack = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8"));
const THREE = labStack.config["homelab:nodes"] as any[];
labStack.config["homelab:nodes"] = [...THREE, FOURTH];
fs.writeFileSync(LAB_MACHINES_FILE, YAML.stringify(labStack));
process.env.LAB_STACK_FILE = LAB_MACHINES_FILE;

let project: ScratchProject;
let kubeconfigFile: string;
let written = "";
const log = (line: string) => process.stdout.write(`[e2e-nodes] ${line}\n`);

const up = (onEvent?: (event: EngineEvent) => void): Promise<UpResult> => timedUp(project.stack, log, onEvent);
const client = kubectlClient(offlineKubectl(labStack.config["homelab:kubernetes"].version), () => kubeconfigFile, "30s");
const { kubectl, kubectlRead, tryKubectl } = client;
const { cephJson, health } = cephClient(kubectlRead);
const block = rbdImage(client, "nodes-e2e");
const readBack = () => `${kubectlRead("-n", NAMESPACE, "exec", "user", "--", "cat", "/shared/note")} ${block.readBack()}`;
const readyOf = (host: string) => kubectl("get", "node", host, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}").trim();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Pulls the machine's plug and waits until its Node is no longer Ready, as a user finds a dead
 * machine. The API may not answer for a moment meanwhile: the VIP fails over when the machine held it.
 */
async function pullThePlug(host: string): Promise<void> {
    lab("power-off", host, "--hard");
    const pulled = Date.now();
    const readiness = () => tryKubectl("get", "node", host, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}") ?? "not answered";
    let ready = readiness();
    while (ready !== "False" && ready !== "Unknown" && Date.now() - pulled < 5 * 60 * 1000) {
        await sleep(5000);
        ready = readiness();
    }
    log(`${host}'s Node ${ready} ${((Date.now() - pulled) / 1000).toFixed(0)} s after the plug was pulled`);
}

/** Waits (30 minutes at most) for HEALTH_OK after an up: Rook moves or restarts a mon some minutes after its machine is gone. */
async function healthOkAfterUp(): Promise<boolean> {
    const back = Date.now();
    let healthy = health() === "HEALTH_OK";
    while (!healthy && Date.now() - back < 30 * 60 * 1000) {
        await sleep(10000);
        healthy = health() === "HEALTH_OK";
    }
    log(`HEALTH_OK ${healthy ? "" : "not reached "}${((Date.now() - back) / 1000).toFixed(0)} s after the up`);
    return healthy;
}
const osdHosts = () => (cephJson("osd", "tree").nodes as any[]).filter((node) => node.type === "host").map((node) => node.name).sort();

/**
 * A control plane with an OSD dies for good (the plug pulled) and a new machine takes its place under
 * its name (a new MAC, blank disks): forget-node --replaced (after `beforeForget`, given the way to run
 * it), one up, with the API probed through the VIP from before the plug is pulled and the data read
 * back throughout. Then three healthy etcd members (asked on `survivor`) and no stale one, the old
 * OSDs purged, HEALTH_OK, the new machine's Node Ready, and a later up changes nothing.
 */
async function replaceDeadMachine({ host, newMac, survivor, beforeForget }: {
    host: string; newMac: string; survivor: string; beforeForget?: (forgetReplaced: () => SpawnSyncReturns<string>) => Promise<void>;
}): Promise<void> {
    const etcd = (command: string) => inside(survivor, `${IN_ETCD}\netcdctl_ ${command}`);
    const memberNames = () => etcd("member list -w json").match(/"name":"[^"]*"/g)?.map((field) => field.slice(8, -1)).sort();
    const oldOsds = cephJson("osd", "ls-tree", host) as number[];
    const machineOf = () => kubectl("get", "node", host, "-o", "jsonpath={.status.nodeInfo.machineID}").trim();
    const oldMachine = machineOf();
    log(`${host} holds osd ${oldOsds.join(",")}; etcd members ${memberNames()?.join(",")}`);

    // from before the plug is pulled: the machine may hold the VIP, which then fails over
    const probe = apiProbe(VIP);
    const degraded = sampler(() => health() === "HEALTH_OK", 5000);
    log(`the VIP is on ${lab("status").split("\n").find((line) => line.includes(VIP))?.split(/\s+/)[0] ?? "?"}`);
    await pullThePlug(host);

    // the new machine: another MAC in the lab's machine list and in the stack, a fresh install on blank disks
    const withNewMac = (nodes: any[]) => nodes.map((node) => (node.hostname === host ? { ...node, mac: newMac } : node));
    labStack.config["homelab:nodes"] = withNewMac(labStack.config["homelab:nodes"]);
    fs.writeFileSync(LAB_MACHINES_FILE, YAML.stringify(labStack));
    lab("replace", host);
    // the nodes as the tests before left them (lab-4 may be in or out), the host on its new machine
    editStackConfig(project, "homelab:nodes", withNewMac);

    const forgetReplaced = () => spawnSync("node", [path.join(ROOT, "scripts", "forget-node.js"), "--replaced", host, "--stack", "lab", "--yes"], { cwd: project.dir, env: { ...process.env, ...project.env }, encoding: "utf8" });
    await beforeForget?.(forgetReplaced);
    const forget = forgetReplaced();
    log(`forget-node --replaced: ${forget.stdout.trim().split("\n")[0]}`);
    expect(forget.stderr).toBe("");
    expect(forget.status).toBe(0);

    const reads = sampler(() => readBack() === written, 10000);
    const clock = new StepClock();
    const started = Date.now();
    let result: UpResult;
    let api: Awaited<ReturnType<ReturnType<typeof apiProbe>["stop"]>>;
    // what the up replaces or deletes rather than creates or updates: never one of the cluster's Kubernetes resources
    const replacedOrDeleted: { op: string; type: string; name: string }[] = [];
    try {
        result = await up((event) => {
            clock.onEvent(event);
            const step = event.resourcePreEvent?.metadata;
            if (step && /replace|delete/.test(step.op)) replacedOrDeleted.push({ op: step.op, type: step.type, name: step.urn.slice(step.urn.lastIndexOf("::") + 2) });
        });
    } finally {
        log(`replaced or deleted by the up: ${replacedOrDeleted.map((step) => `${step.op} ${step.name}`).join(", ") || "nothing"}`);
        api = await probe.stop();
        const readFailures = await reads.stop();
        const notOk = await degraded.stop();
        log(`figures: ${host}'s replacement up ${((Date.now() - started) / 1000).toFixed(1)} s; API through the VIP from the plug pulled to the end of the up: longest gap ${api.longestGapSeconds.toFixed(1)} s (${api.missed} of ${api.asked} unanswered); data read ${readFailures.samples} times, ${readFailures.failed} failed; Ceph not HEALTH_OK for ${notOk.failedSeconds.toFixed(0)} s from the plug pulled to the end of the up`);
        log(`figures: longest steps ${formatSpans(clock.resourceSpans().slice(0, 8))}`);
    }
    expect(result.summary.result).toBe("succeeded");
    expect(replacedOrDeleted.filter((step) => step.type.startsWith("kubernetes:"))).toEqual([]);
    // a VIP failover at most (the VIP may have been on the dead machine), never the API gone
    expect(api.longestGapSeconds).toBeLessThan(60);

    expect(memberNames()).toEqual(["lab-1", "lab-2", "lab-3"]);
    expect(() => etcd("endpoint health --cluster")).not.toThrow();
    expect(readyOf(host)).toBe("True");
    expect(machineOf()).not.toBe(oldMachine);
    expect(await healthOkAfterUp()).toBe(true);
    const hosts = osdHosts();
    expect(hosts.slice(0, 3)).toEqual(["lab-1", "lab-2", "lab-3"]);
    expect(cephJson("osd", "stat")).toMatchObject({ num_osds: hosts.length, num_up_osds: hosts.length, num_in_osds: hosts.length });
    const allOsds = cephJson("osd", "ls") as number[];
    for (const id of oldOsds) expect(allOsds).not.toContain(id);
    expect(readBack()).toBe(written);
    expect(changes((await up()).summary.resourceChanges)).toEqual({});
}

beforeAll(async () => {
    log("fresh lab: lab down --purge, lab up (all four machines off)");
    lab("down", "--purge");
    lab("up");
    for (const node of [...NODES, FOURTH]) expect(isOn(node.hostname)).toBe(false);
    project = await scratchProject("lab", { setKey: false });
    editStackConfig(project, "homelab:nodes", () => [...THREE, FOURTH]);
    kubeconfigFile = path.join(project.dir, "kubeconfig");
});

afterAll(async () => {
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
    fs.rmSync(path.dirname(LAB_MACHINES_FILE), { recursive: true, force: true });
});

describe("nodes that come and go, on the simulated lab", () => {
    test("1. four machines, one a worker with an OSD: HEALTH_OK with four OSDs on four hosts; data written to CephFS and RBD", async () => {
        const clock = new StepClock();
        const result = await up(clock.onEvent);
        expect(result.summary.result).toBe("succeeded");
        log(`figures: stages ${formatSpans(clock.stageSpans())}`);
        fs.writeFileSync(kubeconfigFile, result.outputs.kubeconfig.value, { mode: 0o600 });
        expect(health()).toBe("HEALTH_OK");
        expect(cephJson("osd", "stat")).toMatchObject({ num_osds: 4, num_up_osds: 4, num_in_osds: 4 });
        expect(osdHosts()).toEqual(["lab-1", "lab-2", "lab-3", "lab-4"]);
        log(`mons on: ${kubectl("-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-mon", "-o", "jsonpath={.items[*].spec.nodeName}")}`);

        // on lab-2, which no test replaces (a pod bound to a replaced machine's Node goes with it)
        await startClaimsAndUser(client, NAMESPACE, "lab-2", project.dir);
        kubectl("-n", NAMESPACE, "exec", "user", "--", "/bin/sh", "-c", "echo kept > /shared/note && sync");
        block.write();
        written = readBack();
        expect(written).toMatch(/^kept [0-9a-f]{64}$/);
    });

    test("2. removals that would leave an even number of control planes, or fewer OSD hosts than storage.poolSize, are refused at preview; nothing changes", async () => {
        const refusal = async (nodes: any[]) => {
            editStackConfig(project, "homelab:nodes", () => nodes);
            try {
                await project.stack.preview({ color: "never" });
                return "";
            } catch (error) {
                return String(error);
            } finally {
                editStackConfig(project, "homelab:nodes", () => [...THREE, FOURTH]);
            }
        };
        const withoutThird = await refusal([THREE[0], THREE[1], FOURTH]);
        expect(withoutThird).toContain("is an even number of control planes; etcd needs a majority, so use 1, 3 or 5");
        const twoOsdHosts = await refusal([THREE[0], THREE[1], { ...THREE[2], osdDevices: [] }]);
        expect(twoOsdHosts).toContain("needs at least 3 nodes with OSD disks (one replica per host), but 2 have any");
        const plan: string[] = [];
        await project.stack.preview({ color: "never", onEvent: (event) => { const step = event.resourcePreEvent?.metadata; if (step && step.op !== "same") plan.push(`${step.op} ${step.urn}`); } });
        expect(plan).toEqual([]);
    });

    test("3. lab-4 taken out: its OSD leaves Ceph with the data readable throughout, HEALTH_OK with three OSDs, no Node, the machine off", async () => {
        editStackConfig(project, "homelab:nodes", () => THREE);
        const probe = apiProbe(VIP);
        const reads = sampler(() => readBack() === written, 10000);
        const degraded = sampler(() => health() === "HEALTH_OK", 5000);
        const clock = new StepClock();
        const started = Date.now();
        let result: UpResult;
        try {
            result = await up(clock.onEvent);
        } finally {
            const api = await probe.stop();
            const readFailures = await reads.stop();
            const notOk = await degraded.stop();
            log(`figures: removal up ${((Date.now() - started) / 1000).toFixed(1)} s; API through the VIP: longest gap ${api.longestGapSeconds.toFixed(1)} s (${api.missed} of ${api.asked} unanswered); data read ${readFailures.samples} times, ${readFailures.failed} failed; Ceph not HEALTH_OK for ${notOk.failedSeconds.toFixed(0)} s of the up`);
            log(`figures: longest steps ${formatSpans(clock.resourceSpans().slice(0, 8))}`);
        }
        expect(result.summary.result).toBe("succeeded");
        expect(await healthOkAfterUp()).toBe(true);
        // once seen with an OSD down right after HEALTH_OK (issue 20's note): what the OSDs and their pods did then
        const stat = cephJson("osd", "stat");
        if (stat.num_up_osds !== 3) {
            log(`OSDs after the up: ${JSON.stringify(stat)}; ${(cephJson("osd", "tree").nodes as any[]).filter((node) => node.type === "osd").map((node) => `${node.name} ${node.status}`).join(", ")}`);
            log(`OSD pods: ${kubectl("-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-osd", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.startTime} {.status.containerStatuses[0].restartCount}; {end}")}`);
            log(`OSD deployments: ${kubectl("-n", "rook-ceph", "get", "deployments", "-l", "app=rook-ceph-osd", "-o", "jsonpath={range .items[*]}{.metadata.name} generation {.metadata.generation} made {.metadata.creationTimestamp}; {end}")}`);
            log(`operator log, last 5 minutes, lines about OSDs: ${kubectl("-n", "rook-ceph", "logs", "deploy/rook-ceph-operator", "--since=5m").split("\n").filter((line) => /osd/i.test(line)).slice(-15).join(" | ")}`);
        }
        expect(stat).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
        expect(osdHosts()).toEqual(["lab-1", "lab-2", "lab-3"]);
        expect(tryKubectl("get", "node", "lab-4", "-o", "name")).toBeUndefined();
        expect(isOn("lab-4")).toBe(false);
        expect(readBack()).toBe(written);
    });

    test("4. a later up changes nothing", async () => {
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
    });

    test("5. lab-4 back (its disk wiped when it left): four OSDs on four hosts again, HEALTH_OK", async () => {
        editStackConfig(project, "homelab:nodes", () => [...THREE, FOURTH]);
        const result = await up();
        expect(result.summary.result).toBe("succeeded");
        expect(health()).toBe("HEALTH_OK");
        expect(cephJson("osd", "stat")).toMatchObject({ num_osds: 4, num_up_osds: 4, num_in_osds: 4 });
        expect(osdHosts()).toEqual(["lab-1", "lab-2", "lab-3", "lab-4"]);
    });

    test("6. lab-4 dies (the plug pulled): taken out of the config, the up fails on its own steps; forget-node; the next up leaves HEALTH_OK with three OSDs, no Node, nothing of lab-4 in the state", async () => {
        // as a user finds a dead machine: its Node no longer Ready (a Node still Ready would be drained, and a
        // drain of a machine that is gone waits out its timeout)
        await pullThePlug("lab-4");
        editStackConfig(project, "homelab:nodes", () => THREE);
        const clock = new StepClock();
        const started = Date.now();
        let output = "";
        await expect(up((event) => { clock.onEvent(event); const diag = event.diagnosticEvent; if (diag) output += diag.message; })).rejects.toThrow();
        log(`figures: the up that fails on lab-4's own steps ${((Date.now() - started) / 1000).toFixed(1)} s; longest steps ${formatSpans(clock.resourceSpans().slice(0, 6))}`);
        expect(output).toContain("192.168.77.14");

        const forget = spawnSync("node", [path.join(ROOT, "scripts", "forget-node.js"), "lab-4", "--stack", "lab", "--yes"], { cwd: project.dir, env: { ...process.env, ...project.env }, encoding: "utf8" });
        log(`forget-node: ${forget.stdout.trim().split("\n")[0]}`);
        expect(forget.stderr).toBe("");
        expect(forget.status).toBe(0);

        const again = Date.now();
        const result = await up();
        log(`figures: the up after forget-node ${((Date.now() - again) / 1000).toFixed(1)} s`);
        expect(result.summary.result).toBe("succeeded");
        expect(health()).toBe("HEALTH_OK");
        expect(cephJson("osd", "stat")).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
        expect(osdHosts()).toEqual(["lab-1", "lab-2", "lab-3"]);
        expect(tryKubectl("get", "node", "lab-4", "-o", "name")).toBeUndefined();
        const left = ((await project.stack.exportStack()).deployment.resources as { urn: string }[]).map((resource) => resource.urn).filter((urn) => /lab-4/.test(urn));
        expect(left).toEqual([]);
        expect(readBack()).toBe(written);
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
    });

    test("7. lab-3 dies for good and a new machine takes its place (a new MAC, blank disks): forget-node --replaced, one up; three healthy etcd members and no stale one, the old OSD purged, HEALTH_OK, the API answering through the VIP", async () => {
        await replaceDeadMachine({ host: "lab-3", newMac: "52:54:00:77:02:13", survivor: "lab-1" });
    });

    test("8. lab-1, the first control plane, dies for good and a new machine takes its place: forget-node refuses while the config lists it first; listed after lab-2 and lab-3, one up; lab-2 carries the cluster's steps, three healthy etcd members, the old OSD purged, HEALTH_OK, the API answering through the VIP", async () => {
        await replaceDeadMachine({
            host: "lab-1", newMac: "52:54:00:77:02:11", survivor: "lab-2",
            beforeForget: async (forgetReplaced) => {
                // the new MAC in the config, lab-1 still listed first: refused, the state untouched
                const before = JSON.stringify((await project.stack.exportStack()).deployment.resources);
                const refused = forgetReplaced();
                log(`forget-node --replaced with lab-1 listed first: ${refused.stderr.trim()}`);
                expect(refused.status).toBe(1);
                expect(refused.stderr).toContain("lab-1 is the first control plane in homelab:nodes");
                expect(JSON.stringify((await project.stack.exportStack()).deployment.resources)).toBe(before);
                // lab-1 after the other control planes
                const listedFirst = (node: any) => node.hostname === "lab-2" || node.hostname === "lab-3";
                editStackConfig(project, "homelab:nodes", (nodes: any[]) => [...nodes.filter(listedFirst), ...nodes.filter((node) => !listedFirst(node))]);
            },
        });
        // the init step's record on lab-2: it took over rather than ran kubeadm init
        expect(inside("lab-2", "cat /var/lib/homelab/steps/*-kubernetes-init")).toContain("lab-2 joined the cluster as a control plane and is the first listed now");
    });
});
