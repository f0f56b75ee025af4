// End to end, power as a routine on the simulated lab (npm run test:e2e:power), with the real
// engine: from all off to HEALTH_OK with data; `power: off` shuts the lab down in a safe order (the
// VIP's holder last) and a no-op up then wakes nothing; `power: on` brings it back to HEALTH_OK with
// the data; a power cut of every machine is healed by one `pulumi up`; a healthy lab's no-op up
// plans nothing and logs in nowhere; a shutdown while Ceph is not HEALTH_OK is refused. Figures
// (times to off, to HEALTH_OK) are printed, never asserted.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { editStackConfig, ROOT, scratchProject, ScratchProject } from "../integration/project";
import { cephClient, changes, keptSnapshots, kubectlClient, offlineKubectl, rbdImage, recorder, snapshotStatus, startClaimsAndUser, timedUp, userRunning } from "./cluster";
import { acceptedLogins, inside, isOn, lab, NODES, powerLog, ssh, VIP, waitFor } from "./lab";

jest.setTimeout(150 * 60 * 1000);

const stackConfig = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")).config;
const NAMESPACE = "homelab-power-e2e";

let project: ScratchProject;
let kubeconfigFile: string;
const log = (line: string) => process.stdout.write(`[e2e-power] ${line}\n`);
const up = (onEvent?: (event: EngineEvent) => void): Promise<UpResult> => timedUp(project.stack, log, onEvent);
const client = kubectlClient(offlineKubectl(stackConfig["homelab:kubernetes"].version), () => kubeconfigFile, "30s");
const { kubectl, kubectlRead, tryKubectl } = client;
const { ceph, cephJson, health } = cephClient(kubectlRead);

const block = rbdImage(client, "homelab-power-e2e");
/** The sha256 of the random MiB written to CephFS and to RBD in test 1: it must read back byte-identical after every power cycle. */
const KUBERNETES_VERSION: string = stackConfig["homelab:kubernetes"].version;
const snapshots = () => keptSnapshots(project.dir);
const readBack = () => {
    if (userRunning(client, NAMESPACE, project.dir)) log("the user's pod had ended with its node's shutdown (a bare pod): made again from claims.yaml");
    return `${kubectlRead("-n", NAMESPACE, "exec", "user", "--", "/bin/sh", "-c", "sha256sum /shared/data | cut -d' ' -f1")} ${block.readBack()}`;
};
let written = "";
/** The osdmap's epoch just before the power-off: its history from there says when noout came and OSDs went. */
let epochBeforeOff = 0;
/** The mons' names just before the power-off, e.g. a,b,c: a failover after power-on renames one. */
let monsBeforeOff = "";
const mons = (): string => (cephJson("mon", "dump").mons as { name: string }[]).map((mon) => mon.name).sort().join(",");

/** How long after `started` the API first answered through the VIP, polled every 2 s while `during` runs. */
async function apiAnswers(during: Promise<unknown>, started: number): Promise<number | undefined> {
    let done = false, answered: number | undefined;
    const finished = during.finally(() => { done = true; });
    while (!done && answered === undefined) {
        if (tryKubectl("get", "--raw", "/readyz") === "ok") answered = Date.now() - started;
        else await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    await finished;
    return answered;
}

/** When each machine went off, polled every half second while `during` runs. */
async function offTimes(during: Promise<unknown>): Promise<Record<string, number>> {
    const started = Date.now();
    const off: Record<string, number> = {};
    let done = false;
    const finished = during.finally(() => { done = true; });
    try {
        while (!done) {
            for (const node of NODES) if (off[node.hostname] === undefined && !isOn(node.hostname)) off[node.hostname] = Date.now() - started;
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    } finally {
        // a failed poll must not leave the up running into the next test (which would find the stack locked)
        await finished.catch(() => undefined);
    }
    await finished;
    return off;
}

beforeAll(async () => {
    log("fresh lab: lab down --purge, lab up (all machines off)");
    lab("down", "--purge");
    lab("up");
    project = await scratchProject("lab", { setKey: false });
    kubeconfigFile = path.join(project.dir, "kubeconfig");
});

afterAll(async () => {
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
});

describe("power as a routine on the simulated lab", () => {
    test("1. from all off to HEALTH_OK, data written; every kubelet shuts down gracefully (120 s held by logind)", async () => {
        const result = await up();
        expect(result.summary.result).toBe("succeeded");
        fs.writeFileSync(kubeconfigFile, result.outputs.kubeconfig.value, { mode: 0o600 });
        expect(result.outputs.power.value).toMatchObject({ state: "on" });
        expect(health()).toBe("HEALTH_OK");
        // the first up keeps an etcd snapshot here, off the cluster, and etcd's own tool reads it
        const snapshot = result.outputs.lastSnapshot.value;
        expect(snapshots()).toEqual([path.basename(snapshot.file)]);
        const status = snapshotStatus(snapshot.file, KUBERNETES_VERSION);
        log(`figures: etcd snapshot ${snapshot.bytes} bytes (archive with the PKI), revision ${status.revision}, ${status.totalKey} keys, taken on ${snapshot.node}`);
        expect(status.revision).toBe(snapshot.revision);
        expect(status.totalKey).toBeGreaterThan(100);
        await startClaimsAndUser(client, NAMESPACE, NODES[1].hostname, project.dir);
        kubectl("-n", NAMESPACE, "exec", "user", "--", "/bin/sh", "-c", "head -c 1048576 /dev/urandom > /shared/data && sync");
        block.write();
        written = readBack();
        expect(written).toMatch(/^[0-9a-f]{64} [0-9a-f]{64}$/);
        // after the data, which every later test reads back, whatever this finds
        for (const node of NODES) {
            expect(inside(node.hostname, "grep -E '^shutdownGracePeriod(CriticalPods)?:' /var/lib/kubelet/config.yaml | sort")).toBe("shutdownGracePeriod: 120s\nshutdownGracePeriodCriticalPods: 30s");
            // the kubelet raises logind's inhibit delay to its grace period itself
            const delay = Number(inside(node.hostname, "busctl get-property org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager InhibitDelayMaxUSec | awk '{ print $2 }'"));
            log(`${node.hostname}: logind InhibitDelayMaxUSec ${delay}`);
            expect(delay).toBeGreaterThanOrEqual(120 * 1e6);
        }
    });

    test("2. a no-op up on the healthy lab plans nothing and logs in nowhere (the power probe opens no session)", async () => {
        const before = NODES.map((node) => acceptedLogins(node.hostname));
        const preview = recorder();
        await project.stack.preview({ onEvent: preview.onEvent, color: "never" });
        expect(preview.steps).toEqual([]);
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(NODES.map((node) => acceptedLogins(node.hostname))).toEqual(before);
    });

    test("3. power off: the preview shows the change; the up sets noout and shuts the lab down, the VIP's holder last", async () => {
        const holder = ssh(VIP, "hostname").stdout;
        log(`the VIP is on ${holder}`);
        editStackConfig(project, "homelab:power", () => "off");
        const preview = recorder();
        await project.stack.preview({ onEvent: preview.onEvent, color: "never" });
        log(`preview of power off: ${preview.steps.join(", ")}`);
        // a planned power-off is a risky step: an etcd snapshot is taken first, then the routine runs
        expect(preview.steps.filter((step) => !step.endsWith(" lab-power-routine") && !step.endsWith(" lab-backup-snapshot"))).toEqual([]);
        expect(preview.steps).toContain("replace lab-backup-snapshot");
        expect(preview.steps).toContain("replace lab-power-routine");
        let output = "";
        epochBeforeOff = cephJson("osd", "dump").epoch;
        monsBeforeOff = mons();
        const run = project.stack.up({ onOutput: (text) => { output += text; }, color: "never" });
        const offStarted = Date.now();
        const off = await offTimes(run);
        const result = await run;
        log(`figures: planned power-off ${((Date.now() - offStarted) / 1000).toFixed(0)} s; machines off after (s) ${Object.entries(off).map(([node, ms]) => `${node} ${(ms / 1000).toFixed(0)}`).join(", ")}`);
        expect(result.summary.result).toBe("succeeded");
        expect(result.outputs.power.value).toMatchObject({ state: "off" });
        expect(output).toContain("noout set");
        expect(snapshots()).toContain(path.basename(result.outputs.lastSnapshot.value.file));
        expect(snapshots()).toHaveLength(2);
        for (const node of NODES) expect(isOn(node.hostname)).toBe(false);
        const last = Object.entries(off).sort(([, a], [, b]) => b - a)[0][0];
        expect(last).toBe(holder);
    });

    test("4. an up while the lab is off, as wanted, plans nothing and wakes nothing", async () => {
        const since = new Date().toISOString();
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(powerLog().filter((entry) => entry.time >= since && entry.action === "power-on")).toEqual([]);
        for (const node of NODES) expect(isOn(node.hostname)).toBe(false);
    });

    test("5. power on: every machine woken, the API through the VIP, noout unset, HEALTH_OK, the data byte-identical; noout was set before the first OSD went down (the osdmap history); then a no-op up", async () => {
        editStackConfig(project, "homelab:power", () => "on");
        const started = Date.now();
        const run = up();
        const api = await apiAnswers(run, started);
        const result = await run;
        log(`figures: power on: the API answered after ${api === undefined ? "the up" : `${(api / 1000).toFixed(0)} s`}, HEALTH_OK at the up's end, ${((Date.now() - started) / 1000).toFixed(0)} s`);
        expect(result.summary.result).toBe("succeeded");
        expect(result.outputs.power.value).toMatchObject({ state: "on" });
        expect(health()).toBe("HEALTH_OK");
        expect(kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\" \"}{end}").trim()).toBe("True True True");
        expect(cephJson("osd", "dump").flags_set ?? []).not.toContain("noout");
        expect(readBack()).toBe(written);
        // no mon failed over: Rook v1.17.8 took a mon's pod the shutdown ended for a second mon on its node
        expect(mons()).toEqual(monsBeforeOff);
        // Ceph's own record, the osdmap history the mons keep: the first map with noout came before the first with an OSD down
        const current = cephJson("osd", "dump").epoch as number;
        let nooutAt: number | undefined, downAt: number | undefined;
        for (let epoch = epochBeforeOff + 1; epoch <= current && (nooutAt === undefined || downAt === undefined); epoch++) {
            const map = cephJson("osd", "dump", String(epoch));
            if (nooutAt === undefined && (map.flags_set ?? []).includes("noout")) nooutAt = epoch;
            if (downAt === undefined && (map.osds as { up: number }[]).some((osd) => osd.up === 0)) downAt = epoch;
        }
        log(`osdmap history from e${epochBeforeOff}: noout first in e${nooutAt}, an OSD first down in e${downAt}`);
        expect(nooutAt).toBeDefined();
        expect(downAt).toBeDefined();
        expect(nooutAt!).toBeLessThan(downAt!);
        const before = NODES.map((node) => acceptedLogins(node.hostname));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(NODES.map((node) => acceptedLogins(node.hostname))).toEqual(before);
    });

    test("6. a power cut of every machine: the preview shows the wake; one up heals the lab to HEALTH_OK with its data", async () => {
        for (const node of NODES) lab("power-off", node.hostname, "--hard");
        const preview = recorder();
        await project.stack.preview({ onEvent: preview.onEvent, color: "never" });
        log(`preview after the power cut: ${preview.steps.join(", ")}`);
        for (const node of NODES) expect(preview.steps.some((step) => step.endsWith(` ${node.hostname}-wake`))).toBe(true);
        expect(preview.steps.some((step) => step.endsWith(" lab-power-routine"))).toBe(true);
        const started = Date.now();
        const run = up();
        const api = await apiAnswers(run, started);
        const result = await run;
        log(`figures: power cut: the API answered after ${api === undefined ? "the up" : `${(api / 1000).toFixed(0)} s`}, HEALTH_OK ${((Date.now() - started) / 1000).toFixed(0)} s after the up began`);
        expect(result.summary.result).toBe("succeeded");
        for (const node of NODES) expect(isOn(node.hostname)).toBe(true);
        expect(health()).toBe("HEALTH_OK");
        expect(readBack()).toBe(written);
    });

    test("7. after the heal, a no-op up plans nothing and logs in nowhere", async () => {
        const before = NODES.map((node) => acceptedLogins(node.hostname));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(NODES.map((node) => acceptedLogins(node.hostname))).toEqual(before);
    });

    test("8. a shutdown while Ceph is not HEALTH_OK is refused with its health detail, and nothing is shut down", async () => {
        ceph("osd", "set", "noscrub");
        try {
            await waitFor("HEALTH_WARN", () => health() === "HEALTH_WARN", 120000, 5000);
            editStackConfig(project, "homelab:power", () => "off");
            const failure = await up().then(() => "the up succeeded", (error) => String(error));
            log(`refused: ${failure.split("\n").find((line) => line.includes("refused")) ?? failure.slice(0, 300)}`);
            expect(failure).toContain("shutdown refused, nothing was shut down");
            expect(failure).toContain("noscrub flag(s) set");
            for (const node of NODES) expect(isOn(node.hostname)).toBe(true);
        } finally {
            ceph("osd", "unset", "noscrub");
            editStackConfig(project, "homelab:power", () => "on");
        }
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(readBack()).toBe(written);
    });

    test("9. destroy, once storage is unprotected and the claims are gone", async () => {
        editStackConfig(project, "homelab:storage", (value) => ({ ...value, protect: false }));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        block.remove();
        kubectl("delete", "namespace", NAMESPACE, "--timeout=300s");
        await waitFor("the test's volumes deleted", () => (tryKubectl("get", "pv", "-o", "name") ?? "x") === "", 300000, 5000);
        await project.stack.destroy({ onOutput: () => undefined });
        for (const node of NODES) await waitFor(`${node.hostname} off`, () => !isOn(node.hostname), 120000, 1000);
    });
});
