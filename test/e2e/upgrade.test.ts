// End to end, Kubernetes upgraded by a change of kubernetes.version (npm run test:e2e:upgrade,
// issue 19), with the real engine on the simulated lab, air-gapped: converge at the older offline
// release (v1.36.3) with data on CephFS and RBD; a two-minor jump and a downgrade are refused at
// preview; then the version (and the mirror) move to the committed release: a pod no controller owns
// stops the first drain (named, nothing upgraded); once it is gone the next up upgrades the first
// node, and the second loses power in the middle of its drain (the up fails at once, naming it);
// powered on, the next up resumes at that drain and upgrades the rest one at a time while a probe
// asks the API through the VIP every second and the data on RBD is read back; a later up changes
// nothing and logs in nowhere. Figures (per node, in all, the API's longest gap, Ceph's time not
// HEALTH_OK) are printed, never asserted.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { editStackConfig, ROOT, scratchProject, ScratchProject } from "../integration/project";
import { apiProbe, cephClient, sampler, changes, kubectlClient, offlineKubectl, rbdImage, recorder, startClaimsAndUser, timedUp, userRunning } from "./cluster";
import { formatSpans, StepClock } from "./figures";
import { acceptedLogins, lab, NODES, VIP } from "./lab";

jest.setTimeout(150 * 60 * 1000);

const NAMESPACE = "homelab-upgrade-e2e";
const stackConfig = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")).config;
const NEW_VERSION: string = stackConfig["homelab:kubernetes"].version;
const NEW_MIRROR: string = stackConfig["homelab:kubernetes"].mirror;
/** The older offline release the lab starts from (offline/build-kubernetes.sh --release). */
const OLD_VERSION = process.env.HOMELAB_E2E_UPGRADE_FROM ?? "1.36.3";
const OLD_MIRROR = NEW_MIRROR.replace(/kubernetes-v[0-9.]+$/, `kubernetes-v${OLD_VERSION}`);

let project: ScratchProject;
let kubeconfigFile: string;
let written = "";
const log = (line: string) => process.stdout.write(`[e2e-upgrade] ${line}\n`);
const up = (onEvent?: (event: EngineEvent) => void): Promise<UpResult> => timedUp(project.stack, log, onEvent);
const client = kubectlClient(offlineKubectl(NEW_VERSION), () => kubeconfigFile, "30s");
const { kubectl, kubectlRead, tryKubectl } = client;
const { health } = cephClient(kubectlRead);
const block = rbdImage(client, "upgrade-e2e");
const readBack = () => `${kubectlRead("-n", NAMESPACE, "exec", "user", "--", "cat", "/shared/note")} ${block.readBack()}`;
const kubeletVersions = () => kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}").trim();
const setVersion = (version: string, mirror: string) => editStackConfig(project, "homelab:kubernetes", (k8s: any) => ({ ...k8s, version, mirror }));

beforeAll(async () => {
    log(`fresh lab: lab down --purge, lab up (all machines off); from ${OLD_VERSION} (${OLD_MIRROR}) to ${NEW_VERSION}`);
    lab("down", "--purge");
    lab("up");
    project = await scratchProject("lab", { setKey: false });
    setVersion(OLD_VERSION, OLD_MIRROR);
    kubeconfigFile = path.join(project.dir, "kubeconfig");
});

afterAll(async () => {
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
});

describe("Kubernetes upgraded by a change of version, on the simulated lab", () => {
    test(`1. converged at ${OLD_VERSION}: HEALTH_OK, every node at v${OLD_VERSION}; data written to CephFS and RBD`, async () => {
        const result = await up();
        expect(result.summary.result).toBe("succeeded");
        fs.writeFileSync(kubeconfigFile, result.outputs.kubeconfig.value, { mode: 0o600 });
        expect(health()).toBe("HEALTH_OK");
        expect(kubeletVersions()).toBe(NODES.map((node) => `${node.hostname}=v${OLD_VERSION}`).join(" "));
        await startClaimsAndUser(client, NAMESPACE, NODES[0].hostname, project.dir);
        kubectl("-n", NAMESPACE, "exec", "user", "--", "/bin/sh", "-c", "echo kept > /shared/note && sync");
        block.write();
        written = readBack();
        expect(written).toMatch(/^kept [0-9a-f]{64}$/);
    });

    test("2. a jump of two minors and a downgrade are refused at preview, naming kubernetes.version; nothing changes", async () => {
        const [major, minor] = OLD_VERSION.split(".").map(Number);
        const refusal = async (version: string) => {
            setVersion(version, NEW_MIRROR.replace(/kubernetes-v[0-9.]+$/, `kubernetes-v${version}`));
            try {
                await project.stack.preview({ color: "never" });
                return "";
            } catch (error) {
                return String(error);
            } finally {
                setVersion(OLD_VERSION, OLD_MIRROR);
            }
        };
        expect(await refusal(`${major}.${minor + 2}.0`)).toContain(`homelab:kubernetes.version: "${major}.${minor + 2}.0" is more than one minor above the running ${OLD_VERSION}`);
        expect(await refusal(`${major}.${minor - 1}.0`)).toContain(`homelab:kubernetes.version: "${major}.${minor - 1}.0" is older than the running ${OLD_VERSION}`);
        const preview = recorder();
        await project.stack.preview({ onEvent: preview.onEvent, color: "never" });
        expect(preview.steps).toEqual([]);
    });

    test(`3. kubernetes.version ${NEW_VERSION}: the preview replaces nothing; a pod no controller owns on ${NODES[0].hostname} stops the up at that node's drain, named, with nothing upgraded and the node schedulable`, async () => {
        setVersion(NEW_VERSION, NEW_MIRROR);
        const preview = recorder();
        await project.stack.preview({ onEvent: preview.onEvent, color: "never" });
        log(`preview of the upgrade: ${preview.steps.join(", ")}`);
        expect(preview.steps.filter((step) => /replace|delete/.test(step))).toEqual([]);
        let output = "";
        await expect(project.stack.up({ color: "never", onOutput: (text) => { output += text; } })).rejects.toThrow();
        expect(output).toContain(`draining ${NODES[0].hostname} did not finish`);
        expect(output).toMatch(new RegExp(`cannot delete .*${NAMESPACE}/user`));
        expect(kubeletVersions()).toBe(NODES.map((node) => `${node.hostname}=v${OLD_VERSION}`).join(" "));
        expect(kubectl("get", "nodes", "-o", "jsonpath={.items[*].spec.unschedulable}").trim()).toBe("");
        expect(readBack()).toBe(written);
    });

    test(`4. the pod moved away, the up upgrades ${NODES[0].hostname}; ${NODES[1].hostname} loses power in the middle of its drain: the up fails at once naming it, ${NODES[0].hostname} stays upgraded`, async () => {
        kubectl("-n", NAMESPACE, "delete", "pod", "user", "--wait=true");
        const victim = NODES[1].hostname;
        let output = "";
        let done = false;
        const run = project.stack.up({ color: "never", onOutput: (text) => { output += text; } }).finally(() => { done = true; });
        // cordoned with our annotation: its drain has begun (the drain step runs on the first control plane)
        const draining = () => tryKubectl("get", "node", victim, "-o", "jsonpath={.spec.unschedulable} {.metadata.annotations.homelab\\.dev/upgrading-to}") === `true v${NEW_VERSION}`;
        while (!done && !draining()) await new Promise((resolve) => setTimeout(resolve, 1000));
        const cutAt = Date.now();
        const cut = !done;
        let failure: unknown;
        try {
            if (cut) {
                log(`${victim} is being drained: its power cut`);
                lab("power-off", victim, "--hard");
            }
            await run;
        } catch (error) {
            failure = error;
        } finally {
            // whatever happened, the next test needs every machine
            if (cut) lab("power-on", victim);
        }
        log(`figures: the up ended ${((Date.now() - cutAt) / 1000).toFixed(0)} s after ${victim}'s power cut`);
        expect(cut).toBe(true);
        expect(failure).toBeDefined();
        expect(output).toContain(`${victim} stopped answering during its drain`);
        expect(kubeletVersions()).toBe(NODES.map((node, index) => `${node.hostname}=v${index === 0 ? NEW_VERSION : OLD_VERSION}`).join(" "));
    });

    test(`5. ${NODES[1].hostname} powered on, the next up resumes at its drain (${NODES[0].hostname}'s steps do not run again) and upgrades the rest, one at a time; the API through the VIP and the data stay; HEALTH_OK`, async () => {
        const ran = recorder();
        const probe = apiProbe(VIP);
        const reads = sampler(() => block.readBack() === written.split(" ")[1], 10000);
        const degraded = sampler(() => health() === "HEALTH_OK", 5000);
        const clock = new StepClock();
        const started = Date.now();
        let result: UpResult;
        try {
            result = await up((event) => { clock.onEvent(event); ran.onEvent(event); });
        } finally {
            const api = await probe.stop();
            const readFailures = await reads.stop();
            const notOk = await degraded.stop();
            log(`figures: upgrade up ${((Date.now() - started) / 1000).toFixed(1)} s; API through the VIP: longest gap ${api.longestGapSeconds.toFixed(1)} s (${api.missed} of ${api.asked} unanswered); RBD read ${readFailures.samples} times, ${readFailures.failed} failed; Ceph not HEALTH_OK for ${notOk.failedSeconds.toFixed(0)} s of the up`);
            const spans = clock.resourceSpans();
            for (const node of NODES) {
                const own = spans.filter((span) => span.name.includes(`-${node.hostname}-upgrade`));
                log(`figures: ${node.hostname}: ${formatSpans(own)} (in all ${own.reduce((sum, span) => sum + span.seconds, 0).toFixed(0)} s)`);
            }
        }
        expect(result.summary.result).toBe("succeeded");
        log(`steps of the resumed up: ${ran.steps.join(", ")}`);
        expect(ran.steps.filter((step) => step.includes(`-${NODES[0].hostname}-upgrade`))).toEqual([]);
        // the failed update of the drain left its old inputs in the state: this up runs it again, and it goes on from the annotation
        expect(ran.steps.filter((step) => /^(create|update) /.test(step) && step.endsWith(`-${NODES[1].hostname}-upgrade-drain`))).toHaveLength(1);
        expect(kubeletVersions()).toBe(NODES.map((node) => `${node.hostname}=v${NEW_VERSION}`).join(" "));
        expect(kubectl("version", "-o", "json")).toContain(`"gitVersion": "v${NEW_VERSION}"`);
        expect(kubectl("get", "nodes", "-o", "jsonpath={.items[*].spec.unschedulable}").trim()).toBe("");
        expect(kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.annotations.homelab\\.dev/upgrading-to}").trim()).toBe("");
        expect(health()).toBe("HEALTH_OK");
        // the user's pod back on the CephFS claim it wrote through
        userRunning(client, NAMESPACE, project.dir);
        expect(readBack()).toBe(written);
    });

    test("6. a later up changes nothing and logs in nowhere", async () => {
        const before = NODES.map((node) => acceptedLogins(node.hostname));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(NODES.map((node) => acceptedLogins(node.hostname))).toEqual(before);
    });
});
