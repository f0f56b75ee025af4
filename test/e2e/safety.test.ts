// End to end, safety on the simulated lab (npm run test:e2e:safety), with the real engine:
// an up cut short in the middle of kubeadm init is completed, not passed for done; no secret in
// any command line on any machine or in the state; changes of how machines are reached re-run no
// script and replace nothing; switching the disk wipe on and off touches nothing; a replacement of
// Ceph's resources is refused; a node whose host key changed is refused by name; and destroy,
// once the user unprotects storage, wipes only what is provably Ceph's.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { allText, editStackConfig, ROOT, scratchProject, ScratchProject } from "../integration/project";
import { cephClient, changes, kubectlClient, offlineKubectl, rbdImage, startClaimsAndUser, timedUp } from "./cluster";
import { watchCommandLines } from "./cmdlines";
import { formatSpans, StepClock } from "./figures";
import { inside, isOn, KEY, lab, NODES, ssh, waitFor } from "./lab";

jest.setTimeout(120 * 60 * 1000);

const stackConfig = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")).config;
const NAMESPACE = "homelab-safety-e2e";

let project: ScratchProject;
let kubeconfigFile: string;
const log = (line: string) => process.stdout.write(`[e2e-safety] ${line}\n`);
const up = (onEvent?: (event: EngineEvent) => void): Promise<UpResult> => timedUp(project.stack, log, onEvent);
const client = kubectlClient(offlineKubectl(stackConfig["homelab:kubernetes"].version), () => kubeconfigFile, "30s");
const { kubectl, kubectlRead, tryKubectl } = client;
const { cephJson } = cephClient(kubectlRead);


/** What an engine run does to each resource: op and the inputs that differ, by resource name. */
function planRecorder() {
    const steps: { op: string; name: string; type: string; diffs: string[] }[] = [];
    return {
        steps,
        onEvent: (event: EngineEvent) => {
            const step = event.resourcePreEvent?.metadata;
            if (!step || step.op === "same" || step.op === "read") return;
            const [, , type, name] = step.urn.split("::");
            steps.push({ op: step.op, name, type: type.split("$").pop() as string, diffs: step.diffs ?? [] });
        },
    };
}

const REPLACING = ["replace", "create-replacement", "delete-replaced", "delete", "create"];

/** Each node's step records: name and modification time (an update that ran nothing leaves them as they were). */
function stepRecords(): Record<string, string> {
    return Object.fromEntries(NODES.map(({ hostname }) => [hostname, inside(hostname, "stat -c '%n %Y' /var/lib/homelab/steps/* 2>/dev/null | sort")]));
}

/** A change of how machines are reached: the plan and the run update only connections, replace nothing, and re-run no script. */
async function expectConnectionOnlyChange(what: string): Promise<void> {
    const planned = planRecorder();
    await project.stack.preview({ onEvent: planned.onEvent, color: "never" });
    log(`${what}: preview ${JSON.stringify(countOps(planned.steps))}`);
    expect(planned.steps.filter((step) => REPLACING.includes(step.op))).toEqual([]);
    // the local routines (power, snapshot, restore) take the key on stdin: a new key is an update of them too (their update runs `true`)
    const reachOnly = (step: { name: string }) => ["connection", "environment", ...(/-(power-routine|backup-snapshot|restore-etcd)$/.test(step.name) ? ["stdin"] : [])];
    for (const step of planned.steps) expect({ name: step.name, diffs: step.diffs.filter((diff) => !reachOnly(step).includes(diff)) }).toEqual({ name: step.name, diffs: [] });

    const before = stepRecords();
    const ran = planRecorder();
    let output = "";
    const result = await project.stack.up({ onEvent: ran.onEvent, onOutput: (text) => { output += text; }, color: "never" });
    log(`${what}: up ${JSON.stringify(result.summary.resourceChanges)}`);
    expect(ran.steps.filter((step) => REPLACING.includes(step.op))).toEqual([]);
    expect(stepRecords()).toEqual(before);
    const skipped = (output.match(/this script already completed on/g) ?? []).length;
    log(`${what}: ${skipped} steps said they had completed already and ran nothing`);
    expect(skipped).toBeGreaterThan(0);
    expect(changes((await up()).summary.resourceChanges)).toEqual({});
}

function countOps(steps: { op: string }[]): Record<string, number> {
    return steps.reduce<Record<string, number>>((counts, step) => ({ ...counts, [step.op]: (counts[step.op] ?? 0) + 1 }), {});
}

/** The secrets the program generated, read back from the state (by resource name suffix). */
function generatedSecrets(): Record<string, string> {
    const exported = JSON.parse(execFileSync(path.join(ROOT, ".tools", "bin", "pulumi"), ["stack", "export", "--show-secrets", "--stack", "lab"], {
        cwd: project.dir, encoding: "utf8", maxBuffer: 512 * 1024 * 1024, env: { ...process.env, PULUMI_BACKEND_URL: `file://${project.stateDir}`, PULUMI_CONFIG_PASSPHRASE: "homelab-integration-test" },
    }));
    const found: Record<string, string> = {};
    for (const resource of exported.deployment.resources) {
        if (resource.type !== "random:index/randomPassword:RandomPassword") continue;
        const name = resource.urn.split("::")[3] as string;
        const value = resource.outputs.result;
        found[name] = typeof value === "string" ? value : value.plaintext ? JSON.parse(value.plaintext) : value;
    }
    return found;
}

let watcher: ReturnType<typeof watchCommandLines>;

beforeAll(async () => {
    log("fresh lab: lab down --purge, lab up (all machines off)");
    lab("down", "--purge");
    lab("up");
    for (const node of NODES) expect(isOn(node.hostname)).toBe(false);
    project = await scratchProject("lab", { setKey: false });
    kubeconfigFile = path.join(project.dir, "kubeconfig");
    watcher = watchCommandLines(path.join(project.dir, "cmdlines.txt"));
});

afterAll(async () => {
    watcher?.stop();
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
});

describe("safety on the simulated lab", () => {
    test("1. an up cut short during kubeadm init on lab-1: the next up completes the init (its last phases) instead of passing it as done", async () => {
        const first = NODES[0].hostname;
        const child: ChildProcess = spawn(path.join(ROOT, ".tools", "bin", "pulumi"), ["up", "--yes", "--skip-preview", "--stack", "lab", "--suppress-progress"], {
            cwd: project.dir, stdio: "ignore", detached: true,
            env: { ...process.env, PULUMI_BACKEND_URL: `file://${project.stateDir}`, PULUMI_CONFIG_PASSPHRASE: "homelab-integration-test", PULUMI_SKIP_UPDATE_CHECK: "true" },
        });
        const exited = new Promise((resolve) => child.once("exit", resolve));
        const killRun = () => { try { process.kill(-(child.pid as number), "SIGKILL"); } catch { /* gone already */ } };
        // admin.conf is written early in kubeadm init; the uploads, the token and the addons come after it
        const halfway = () => {
            try {
                return inside(first, "test -f /etc/kubernetes/admin.conf && ! test -f /etc/kubernetes/homelab-init.done && echo yes || echo no") === "yes";
            } catch {
                return false; // lab-1 is not on yet
            }
        };
        try {
            await waitFor(`kubeadm init writing admin.conf on ${first}`, halfway, 1800000, 250);
        } catch (error) {
            killRun();
            throw error;
        }
        // the machine running Pulumi dies (its providers with it), and the init on the node is cut short with it
        killRun();
        await exited;
        // (a bracket in each pattern, so that it does not match the shell running pkill with it in its own command line)
        inside(first, "pkill -KILL -f 'homelab step lab-kubernetes-ini[t]' || true; pkill -KILL -f 'kubeadm init --confi[g]' || true");
        await waitFor("the init's SSH session ending", () => inside(first, "pgrep -f 'kubeadm init --confi[g]' >/dev/null && echo running || echo gone") === "gone", 120000, 1000);
        const halfDone = inside(first, "ls /etc/kubernetes; kubectl --kubeconfig /etc/kubernetes/super-admin.conf -n kube-system get deployment coredns -o name 2>&1 | tail -1");
        log(`${first} after the kill: ${halfDone.replace(/\n/g, " ")}`);
        expect(halfDone).not.toContain("homelab-init.done");
        // the user's side: release the lock the killed run left (README: when a run is cut short)
        execFileSync(path.join(ROOT, ".tools", "bin", "pulumi"), ["cancel", "--yes", "--stack", "lab"], {
            cwd: project.dir, stdio: "ignore",
            env: { ...process.env, PULUMI_BACKEND_URL: `file://${project.stateDir}`, PULUMI_CONFIG_PASSPHRASE: "homelab-integration-test" },
        });

        const clock = new StepClock();
        let output = "";
        const result = await project.stack.up({ onEvent: clock.onEvent, onOutput: (text) => { output += text; }, color: "never" });
        log(`pulumi up: ${JSON.stringify(result.summary.resourceChanges)}`);
        log(`figures: stages ${formatSpans(clock.stageSpans())}`);
        expect(result.summary.result).toBe("succeeded");
        const completion = output.split("\n").filter((line) => /was cut short|was initialised before|initialised cluster/.test(line)).map((line) => line.trim());
        log(`init on the second up: ${[...new Set(completion)].join(" | ")}`);
        expect(output).toMatch(/kubeadm init on lab-1 was cut short: running its remaining phases|lab-1 was initialised before \(its addons exist\)/);
        fs.writeFileSync(kubeconfigFile, result.outputs.kubeconfig.value, { mode: 0o600 });
        expect(inside(first, "test -f /etc/kubernetes/homelab-init.done && echo done")).toBe("done");
        for (const [kind, name] of [["deployment", "coredns"], ["daemonset", "kube-proxy"], ["configmap", "kubeadm-config"], ["configmap", "kubelet-config"]]) {
            expect(kubectl("-n", "kube-system", "get", kind, name, "-o", "name")).toBe(`${kind === "configmap" ? "configmap" : `${kind}.apps`}/${name}`);
        }
        expect(kubectl("-n", "kube-public", "get", "configmap", "cluster-info", "-o", "name")).toBe("configmap/cluster-info");
        expect(cephJson("health").status).toBe("HEALTH_OK");
    });

    test("2. no secret in any command line on any machine during the whole converge (joins included), or in the state; the join token and uploaded keys are gone", () => {
        const seen = watcher.stop();
        log(`figures: ${seen.length} distinct command lines sampled on the host and its machines`);
        expect(seen.some((line) => line.includes("kubeadm join --config"))).toBe(true);
        expect(seen.some((line) => line.includes("kubeadm init --config"))).toBe(true);
        const secrets = generatedSecrets();
        log(`generated secrets found in the state: ${Object.keys(secrets).sort().join(", ")}`);
        const tokenSecret = secrets["lab-kubernetes-token-secret"];
        const certificateKey = secrets["lab-kubernetes-certificate-key"];
        const authkeyHex = secrets["lab-vip-authkey"];
        expect(tokenSecret).toMatch(/^[a-z0-9]{16}$/);
        expect(certificateKey).toMatch(/^[0-9a-f]{64}$/);
        expect(authkeyHex).toMatch(/^[0-9a-f]{512}$/);
        const authkeyBase64 = Buffer.from(authkeyHex, "hex").toString("base64");
        for (const [name, secret] of Object.entries({ tokenSecret, certificateKey, authkeyHex, authkeyBase64 })) {
            expect({ name, inCommandLines: seen.filter((line) => line.includes(secret)).length }).toEqual({ name, inCommandLines: 0 });
        }
        const state = allText(project.stateDir);
        for (const secret of [tokenSecret, certificateKey, authkeyHex, authkeyBase64]) expect(state.includes(secret)).toBe(false);
        expect(kubectl("-n", "kube-system", "get", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token", "-o", "name")).toBe("");
        expect(tryKubectl("-n", "kube-system", "get", "secret", "kubeadm-certs", "-o", "name")).toBeUndefined();
    });

    const block = rbdImage(client, "homelab-safety-e2e");
    /** What test 3 wrote: the note on CephFS and the sha256 of the RBD image. */
    const readBack = () => `${kubectlRead("-n", NAMESPACE, "exec", "user", "--", "cat", "/shared/note")} ${block.readBack()}`;
    let written = "";

    test("3. data written to CephFS and RBD", async () => {
        await startClaimsAndUser(client, NAMESPACE, NODES[1].hostname, project.dir);
        kubectl("-n", NAMESPACE, "exec", "user", "--", "/bin/sh", "-c", "echo kept > /shared/note && sync");
        block.write();
        written = readBack();
        expect(written).toMatch(/^kept [0-9a-f]{64}$/);
    });

    test("4. ssh.connectTimeoutSeconds 20 -> 30: connections updated, nothing replaced, no script re-run, then no changes", async () => {
        editStackConfig(project, "homelab:ssh", (value) => ({ ...value, connectTimeoutSeconds: 30 }));
        await expectConnectionOnlyChange("connectTimeoutSeconds");
    });

    test("5. a new SSH key (the old one then removed from the machines): connections updated, nothing replaced, no script re-run", async () => {
        const newKey = path.join(project.dir, "id_ed25519_rotated");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "homelab-rotated", "-f", newKey]);
        const publicKey = fs.readFileSync(`${newKey}.pub`, "utf8").trim();
        for (const node of NODES) inside(node.hostname, `echo '${publicKey}' >> /home/homeuser/.ssh/authorized_keys`);
        editStackConfig(project, "homelab:ssh", (value) => ({ ...value, privateKeyFile: newKey }));
        await expectConnectionOnlyChange("SSH key");
        const oldPublic = fs.readFileSync(`${KEY}.pub`, "utf8").trim().split(" ")[1];
        for (const node of NODES) inside(node.hostname, `sed -i '\\#${oldPublic}#d' /home/homeuser/.ssh/authorized_keys`);
        expect(ssh(NODES[0].sshAddress, "true").status).not.toBe(0);
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
    });

    test("6. (preview) a node's sshAddress changed: no replacement, and the Kubernetes resources are untouched (their kubeconfig stays known)", async () => {
        const original = stackConfig["homelab:nodes"];
        // a second address of lab-3's on the external network, which it answers on too (one no machine
        // answers on is seen as a machine off, and the preview then truthfully plans its wake; its
        // internal address is refused by the config's rules)
        const second = NODES[2].sshAddress.replace(/\.(\d+)$/, (_, last: string) => `.${Number(last) + 100}`);
        inside(NODES[2].hostname, `ip addr add ${second}/24 dev enp2s0`);
        editStackConfig(project, "homelab:nodes", (nodes) => nodes.map((node: any, index: number) => (index === 2 ? { ...node, sshAddress: second } : node)));
        const planned = planRecorder();
        try {
            await project.stack.preview({ onEvent: planned.onEvent, color: "never" });
            log(`sshAddress: preview ${JSON.stringify(countOps(planned.steps))}`);
            expect(planned.steps.filter((step) => REPLACING.includes(step.op))).toEqual([]);
            expect(planned.steps.filter((step) => step.type.startsWith("kubernetes:") || step.type === "pulumi:providers:kubernetes")).toEqual([]);
        } finally {
            editStackConfig(project, "homelab:nodes", () => original);
            inside(NODES[2].hostname, `ip addr del ${second}/24 dev enp2s0`);
        }
        const back = planRecorder();
        await project.stack.preview({ onEvent: back.onEvent, color: "never" });
        expect(back.steps).toEqual([]);
    });

    test("7. storage.wipeDisksOnDestroy true -> false -> true on the running lab: each up touches nothing, the data stays, HEALTH_OK, the cleanup policy is never set", async () => {
        try {
            for (const wipe of [false, true]) {
                editStackConfig(project, "homelab:storage", (value) => ({ ...value, wipeDisksOnDestroy: wipe }));
                const ran = planRecorder();
                const result = await up(ran.onEvent);
                log(`wipeDisksOnDestroy ${wipe}: ${JSON.stringify(countOps(ran.steps))} ${ran.steps.map((step) => `${step.op} ${step.name}`).join(", ")}`);
                expect(ran.steps.filter((step) => step.op !== "update")).toEqual([]);
                expect(ran.steps.every((step) => step.diffs.every((diff) => diff === "delete"))).toBe(true);
                expect(result.summary.result).toBe("succeeded");
                expect(kubectl("-n", "rook-ceph", "get", "cephcluster", "rook-ceph", "-o", "jsonpath={.spec.cleanupPolicy.confirmation}")).toBe("");
                expect(readBack()).toBe(written);
                expect(cephJson("health").status).toBe("HEALTH_OK");
            }
        } finally {
            // test 10 needs the wipe on, whatever happened here
            editStackConfig(project, "homelab:storage", (value) => ({ ...value, wipeDisksOnDestroy: true }));
        }
    });

    test("8. a change that would replace a storage class is refused at preview while storage is protected, naming it; nothing changes", async () => {
        editStackConfig(project, "homelab:storage", (value) => ({ ...value, cephfsMounter: "kernel" }));
        const refusal = await project.stack.preview({ color: "never" }).then(() => "the preview succeeded", (error) => String(error));
        log(`replacement refused: ${refusal.split("\n").find((line) => line.includes("protect")) ?? refusal.slice(0, 300)}`);
        expect(refusal).toMatch(/protect/);
        expect(refusal).toContain(`${stackConfig["homelab:clusterName"]}-rook-filesystem-storage-class`);
        editStackConfig(project, "homelab:storage", (value) => ({ ...value, cephfsMounter: "fuse" }));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
    });

    test("9. lab-2's host key changes (a reinstalled or impostor machine): the next up that reaches it fails naming it and both fingerprints, and runs nothing there; pinning the new key goes on", async () => {
        const victim = NODES[1];
        const before = stepRecords()[victim.hostname];
        inside(victim.hostname, "rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; systemctl restart ssh");
        const newKey = execFileSync("ssh-keyscan", ["-t", "ed25519", victim.sshAddress], { encoding: "utf8" }).trim().split(/\s+/).slice(1).join(" ");
        editStackConfig(project, "homelab:ssh", (value) => ({ ...value, connectTimeoutSeconds: 20 }));
        try {
            const failure = await up().then(() => "the up succeeded", (error) => String(error));
            log(`changed host key: ${failure.split("\n").find((line) => line.includes("host key")) ?? failure.slice(0, 400)}`);
            expect(failure).toMatch(/host key mismatch: 192\.168\.77\.12:22 shows SHA256:\S+, not SHA256:\S+ as recorded/);
            expect(failure).toContain(`${victim.hostname}-`);
            expect(stepRecords()[victim.hostname]).toBe(before);
        } finally {
            // pinned whatever happened: test 10 reaches lab-2 again
            editStackConfig(project, "homelab:nodes", (nodes) => nodes.map((node: any) => (node.hostname === victim.hostname ? { ...node, sshHostKey: newKey } : node)));
        }
        const result = await up();
        expect(result.summary.result).toBe("succeeded");
        expect(stepRecords()[victim.hostname]).toBe(before);
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
    });

    test("10. destroy is refused while storage is protected; unprotected (an up that changes nothing) and without claims, it wipes the OSD disks, which carried this cluster's label", async () => {
        const attempted: string[] = [];
        const refusal = await project.stack.destroy({ onOutput: () => undefined, onEvent: (event) => {
            const step = event.resourcePreEvent?.metadata;
            if (step) attempted.push(`${step.op} ${step.urn.split("::")[3]}`);
        } }).then(() => "the destroy succeeded", (error) => String(error));
        // the engine runs deletes in order and checks protection at each: the claims guard comes first
        // (the claims are still there) and stops the destroy; had it passed, the protected resources would
        expect(refusal).toMatch(/destroy stopped before touching Ceph|cannot be deleted\s+because it is protected/);
        expect(attempted.filter((step) => step.startsWith("delete") && !step.endsWith("-rook-claims-guard"))).toEqual([]);
        expect(readBack()).toBe(written);

        editStackConfig(project, "homelab:storage", (value) => ({ ...value, protect: false }));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        block.remove();
        kubectl("delete", "namespace", NAMESPACE, "--timeout=300s");
        await waitFor("the test's volumes deleted", () => (tryKubectl("get", "pv", "-o", "name") ?? "x") === "", 300000, 5000);
        let output = "";
        await project.stack.destroy({ onOutput: (text) => { output += text; } });
        log(`destroy: ${[...new Set(output.split("\n").map((line) => line.trim()).filter((line) => !line.includes("command:remote:Command") && /wipe|wiped|zeroed|refus|label|nothing to wipe/i.test(line)))].join(" | ")}`);
        for (const node of NODES) await waitFor(`${node.hostname} off`, () => !isOn(node.hostname), 120000, 1000);
        for (const node of NODES) {
            lab("power-on", node.hostname);
            // through the lab's console, not SSH: test 5 took the lab's own key off the machines
            await waitFor(`${node.hostname} running`, () => { try { return inside(node.hostname, "systemctl is-system-running --wait >/dev/null 2>&1; true") === ""; } catch { return false; } }, 180000, 2000);
            for (const device of stackConfig["homelab:nodes"].find((entry: any) => entry.hostname === node.hostname).osdDevices) {
                expect(inside(node.hostname, `head -c 1048576 ${device} | tr -d '\\0' | wc -c`)).toBe("0");
            }
        }
    });
});
