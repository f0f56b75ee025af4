// End to end on the simulated lab with the real engine: from every machine
// powered off to a quorate Pacemaker cluster holding the VIP, then re-runs,
// failover, a failure in the middle of an up, destroy, and no secret in state.
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, UpResult } from "@pulumi/pulumi/automation";
import { allText, editStackConfig, ROOT, scratchProject, ScratchProject } from "../integration/project";
import { acceptedLogins, inside, isOn, lab, NODES, pings, powerLog, ssh, VIP, waitFor } from "./lab";

jest.setTimeout(30 * 60 * 1000);

let project: ScratchProject;
const log = (line: string) => process.stdout.write(`[e2e] ${line}\n`);

function changes(summary: Record<string, number> | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([op, count]) => op !== "same" && count > 0));
}

async function up(): Promise<UpResult> {
    const started = Date.now();
    const result = await project.stack.up({ onOutput: () => undefined, color: "never" });
    log(`pulumi up: ${JSON.stringify(result.summary.resourceChanges)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
}

beforeAll(async () => {
    log("fresh lab: lab down --purge, lab up (all machines off)");
    lab("down", "--purge");
    lab("up");
    for (const node of NODES) expect(isOn(node.hostname)).toBe(false);
    project = await scratchProject("lab", { setKey: false });
    // nodes, network and VIP only (a real use of its own); Kubernetes has its own suite (kubernetes.test.ts)
    for (const stage of ["kubernetes", "calico", "storage"]) editStackConfig(project, `homelab:${stage}`, (value) => ({ ...value, enabled: false }));
});

afterAll(async () => {
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
});

describe("the lab stack on the simulated lab", () => {
    const started = new Date().toISOString();

    test("1. pulumi up from all powered off converges the nodes, the network and the VIP", async () => {
        const result = await up();
        expect(result.summary.result).toBe("succeeded");

        const woken = new Set(powerLog().filter((p) => p.time >= started && p.action === "power-on").map((p) => p.mac));
        for (const node of NODES) expect(woken).toContain(node.mac);

        for (const node of NODES) {
            const facts = inside(node.hostname, [
                "hostname",
                "grep -c '^10\\.77\\.0\\.1[0-9] lab-' /etc/hosts",
                "swapon --noheadings | wc -l",
                "grep -cw overlay /proc/filesystems",
                "cat /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/ipv4/ip_forward | paste -sd,",
                "systemctl is-active containerd",
                "stat -c %a /etc/netplan/60-homelab-internal.yaml",
                "ip -4 -o addr show dev enp3s0 | grep -o '10\\.77\\.0\\.1[0-9]/24'",
            ].join(" && ")).split("\n");
            // containerd runs; its configuration is KubeadmCluster's, a stage this suite leaves off
            expect(facts).toEqual([node.hostname, String(NODES.length), "0", "1", "1,1", "active", "600", `${node.internalAddress}/24`]);
        }
        const quorum = inside(NODES[0].hostname, "corosync-quorumtool -s");
        expect(quorum).toMatch(/Quorate:\s+Yes/);
        expect(quorum).toMatch(new RegExp(`Total votes:\\s+${NODES.length}`));
        expect(pings(VIP)).toBe(true);
        expect(ssh(VIP, "hostname").stdout).toMatch(/^lab-\d$/);
        expect(result.outputs.vip.value).toBe(VIP);
        expect(result.outputs.nodes.value.map((n: { name: string }) => n.name)).toEqual(NODES.map((n) => n.hostname));
    });

    test("2. a second up changes nothing and runs no remote command; refresh finds no drift", async () => {
        const before = NODES.map((node) => acceptedLogins(node.hostname));
        const result = await up();
        expect(changes(result.summary.resourceChanges)).toEqual({});
        expect(NODES.map((node) => acceptedLogins(node.hostname))).toEqual(before);
        const refresh = await project.stack.refresh({ onOutput: () => undefined });
        expect(changes(refresh.summary.resourceChanges)).toEqual({});
    });

    test("6. the stored state holds no secret in plaintext", async () => {
        // The checkpoint on disk, as `pulumi stack export` gives it (the Automation API's export decrypts secrets).
        const state = allText(project.stateDir);
        const key = fs.readFileSync(path.join(ROOT, ".lab", "ssh", "id_ed25519"), "utf8").split("\n")[1];
        const authkey = inside(NODES[0].hostname, "base64 -w0 /etc/corosync/authkey");
        expect(authkey.length).toBeGreaterThan(300);
        expect(state).not.toContain(key);
        expect(state).not.toContain(authkey);
        expect(state).toContain("ciphertext");
    });

    test("7. a consumer project reads the outputs through a StackReference", async () => {
        const dir = path.join(ROOT, "examples", "consumer");
        const workspace = await LocalWorkspace.create({ workDir: dir, envVars: { ...project.stack.workspace.envVars } });
        const consumer = await LocalWorkspace.createOrSelectStack({ stackName: "lab-consumer", workDir: dir }, { envVars: { ...project.stack.workspace.envVars } });
        await consumer.setConfig("labStack", { value: `organization/homelab/lab` });
        const preview = await consumer.preview({ onOutput: () => undefined });
        expect(preview.changeSummary.create).toBe(1);
        const result = await consumer.up({ onOutput: () => undefined });
        expect(result.outputs.labVip.value).toBe(VIP);
        expect(result.outputs.controlPlanes.value).toEqual(NODES.map((n) => n.hostname));
        await consumer.destroy({ onOutput: () => undefined });
        await workspace.removeStack("lab-consumer");
    });

    test("3. pulling the plug on the VIP holder moves the VIP within 15 s; it rejoins on power-on", async () => {
        const holder = ssh(VIP, "hostname").stdout;
        expect(NODES.map((n) => n.hostname)).toContain(holder);
        lab("power-off", holder, "--hard");
        const other = NODES.find((n) => n.hostname !== holder)!.hostname;
        let moved = Infinity;
        try {
            moved = await waitFor("the VIP answering from another machine", () => {
                const answer = ssh(VIP, "hostname", 2);
                return answer.status === 0 && answer.stdout !== holder;
            }, 60000, 250);
        } finally {
            log(`VIP moved from ${holder} in ${(moved / 1000).toFixed(1)} s; ${other} says: ${inside(other, "crm_resource --resource kube-api-vip --locate 2>&1 || true")}`);
        }
        expect(moved).toBeLessThanOrEqual(15000);
        lab("power-on", holder);
        await waitFor("three corosync members again", () => /Total votes:\s+3/.test(inside(other, "corosync-quorumtool -s || true")), 120000, 2000);
    });

    test("5. destroy powers every machine off and leaves no resource", async () => {
        await project.stack.destroy({ onOutput: () => undefined });
        // destroy returns once SSH has closed (the seed's poweroff.yml); the rest of shutdown follows
        for (const node of NODES) await waitFor(`${node.hostname} off`, () => !isOn(node.hostname), 60000, 1000);
        const state = await project.stack.exportStack();
        expect(state.deployment.resources ?? []).toEqual([]);
    });

    test("4. a machine lost in the middle of an up fails it clearly; the next up converges", async () => {
        const victim = NODES[1];
        const running = up().then(() => undefined, (error: Error) => error);
        await waitFor(`${victim.hostname} woken`, () => isOn(victim.hostname), 180000, 500);
        await waitFor(`${victim.hostname} answering SSH`, () => ssh(victim.sshAddress, "true", 2).status === 0, 120000, 500);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        lab("power-off", victim.hostname, "--hard");
        const error = await running;
        expect(error).toBeInstanceOf(Error);
        expect(`${error}`).toContain(victim.hostname);
        lab("power-on", victim.hostname);
        const result = await up();
        expect(result.summary.result).toBe("succeeded");
        expect(inside(NODES[0].hostname, "corosync-quorumtool -s")).toMatch(/Total votes:\s+3/);
        expect(pings(VIP)).toBe(true);
        // and from there, destroy and a new up converge again
        await project.stack.destroy({ onOutput: () => undefined });
        for (const node of NODES) await waitFor(`${node.hostname} off`, () => !isOn(node.hostname), 60000, 1000);
        expect((await up()).summary.result).toBe("succeeded");
        await project.stack.destroy({ onOutput: () => undefined });
    });
});
