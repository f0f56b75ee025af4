// scripts/forget-node.js with the real engine and the command provider: a node whose machine is gone
// fails every up on its own delete steps (they connect over SSH); once forgotten, one up drops its
// resources from the state without connecting, and leaves every other resource as it was. The
// program is a small one of the same shape as ours: a BareMetalNode per node with a delete-only SSH
// step under it, and a step of another component that connects to the node. With --replaced, a node
// that stays on a new machine has its resources dropped, and the next up creates them again.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { ROOT, throwawayKey } from "./project";

const TOOL = path.join(ROOT, "scripts", "forget-node.js");

const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const command = require("@pulumi/command");
const config = new pulumi.Config("homelab");
const nodes = config.requireObject("nodes");
const privateKey = config.requireSecret("sshPrivateKey");
class BareMetalNode extends pulumi.ComponentResource {
    constructor(name, args, opts) {
        super("homelab:index:BareMetalNode", name, {}, opts);
        new command.remote.Command(name + "-poweroff", { connection: args.connection, delete: "echo powering off" }, { parent: this });
        this.registerOutputs({ hostname: name, address: args.connection.host, mac: args.mac });
    }
}
class Cluster extends pulumi.ComponentResource {
    constructor(name, opts) {
        super("homelab:index:KubeadmCluster", name, {}, opts);
        const resets = [];
        for (const node of nodes) {
            const connection = { host: "127.0.0.1", port: node.port, user: "nobody", privateKey, dialErrorLimit: 1, perDialTimeout: 2 };
            new BareMetalNode(node.hostname, { connection, mac: node.mac });
            resets.push(new command.remote.Command(name + "-" + node.hostname + "-reset", { connection, delete: "kubeadm reset -f" }, { parent: this }));
        }
        new command.local.Command(name + "-departures", { create: "echo " + nodes.map((node) => node.hostname).join(",") }, { parent: this, dependsOn: resets });
        this.registerOutputs({});
    }
}
new Cluster("lab-kubernetes");
`;

/** A port on loopback that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

let dir: string;
let stack: Stack;
let env: NodeJS.ProcessEnv;
let ports: { a: number; b: number };
/** A line of the private key: it must never reach the state in plaintext. */
let keyLine: string;
const MACS = { a: "52:54:00:00:00:0a", b: "52:54:00:00:00:0b" };
// workers: the first control plane listed is never replaced (its own refusal is checked below)
const nodesConfig = (...names: ("a" | "b")[]) => JSON.stringify(names.map((name) => ({ hostname: `node-${name}`, port: ports[name], mac: MACS[name], role: "worker" })));
const forget = (...args: string[]) => spawnSync("node", [TOOL, ...args, "--stack", "test"], { cwd: dir, env, encoding: "utf8" });
const urns = async () => ((await stack.exportStack()).deployment.resources as { urn: string }[]).map((resource) => resource.urn.slice(resource.urn.lastIndexOf("::") + 2));

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-forget-"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: forgettest\nruntime: nodejs\nmain: index.js\n");
    fs.writeFileSync(path.join(dir, "index.js"), PROGRAM);
    fs.mkdirSync(path.join(dir, ".state"));
    env = {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
        PULUMI_CONFIG_PASSPHRASE: "homelab-integration-test",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const workspace = await LocalWorkspace.create({ workDir: dir, envVars: env as Record<string, string> });
    stack = await Stack.createOrSelect("test", workspace);
    ports = { a: await closedPort(), b: await closedPort() };
    const key = throwawayKey(dir);
    keyLine = key.split("\n")[1];
    await stack.setConfig("homelab:sshPrivateKey", { value: key, secret: true });
    await stack.setConfig("homelab:nodes", { value: nodesConfig("a", "b") });
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("forget-node, with the real engine", () => {
    test("a node still in homelab:nodes is refused, and nothing changes", async () => {
        const before = JSON.stringify(await stack.exportStack());
        const run = forget("node-b", "--yes");
        expect(run.status).toBe(1);
        expect(run.stderr).toContain("node-b is still in homelab:nodes");
        expect(JSON.stringify(await stack.exportStack())).toBe(before);
    });

    test("taken out of the config, the gone node's delete steps fail the up (they connect)", async () => {
        await stack.setConfig("homelab:nodes", { value: nodesConfig("a") });
        let output = "";
        await expect(stack.up({ color: "never", onOutput: (text) => { output += text; } })).rejects.toThrow();
        expect(output).toMatch(/node-b-poweroff|lab-kubernetes-node-b-reset/);
        expect(await urns()).toEqual(expect.arrayContaining(["node-b", "node-b-poweroff", "lab-kubernetes-node-b-reset"]));
    });

    test("refused while something answers at the node's address, and for a node the state does not have", async () => {
        const before = JSON.stringify(await stack.exportStack());
        const server = net.createServer((socket) => socket.end());
        await new Promise<void>((resolve) => server.listen(ports.b, "127.0.0.1", resolve));
        try {
            const run = forget("node-b", "--yes");
            expect(run.status).toBe(1);
            expect(run.stderr).toContain(`something answers at 127.0.0.1:${ports.b}, the address of node-b`);
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
        const unknown = forget("node-c", "--yes");
        expect(unknown.status).toBe(1);
        expect(unknown.stderr).toContain("the stack's state has no node node-c (its nodes: node-a, node-b)");
        expect(JSON.stringify(await stack.exportStack())).toBe(before);
    });

    test("forgotten: the next up drops exactly its resources without connecting; the state keeps its secrets encrypted", async () => {
        const run = forget("node-b", "--yes");
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(run.stdout).toContain("drops these 3 resources");
        expect(forget("node-b", "--yes").stdout).toContain("already retained on delete");

        let output = "";
        const result = await stack.up({ color: "never", onOutput: (text) => { output += text; } });
        expect(result.summary.result).toBe("succeeded");
        expect(result.summary.resourceChanges).toMatchObject({ delete: 3 });
        expect(output).not.toContain("powering off");
        const left = await urns();
        expect(left.filter((name) => name.includes("node-b"))).toEqual([]);
        expect(left).toEqual(expect.arrayContaining(["node-a", "node-a-poweroff", "lab-kubernetes-node-a-reset", "lab-kubernetes-departures"]));
        for (const file of listFiles(path.join(dir, ".state"))) expect(fs.readFileSync(file, "utf8")).not.toContain(keyLine);
    });
});

describe("forget-node --replaced, with the real engine", () => {
    test("refused, nothing changed: a node not in the config, the old MAC still configured, the only control plane, something answering without a recorded host key", async () => {
        const before = JSON.stringify(await stack.exportStack());
        const gone = forget("--replaced", "node-b", "--yes");
        expect(gone.status).toBe(1);
        expect(gone.stderr).toContain("node-b is not in homelab:nodes: --replaced is for a node that stays on a new machine");
        const sameMac = forget("--replaced", "node-a", "--yes");
        expect(sameMac.status).toBe(1);
        expect(sameMac.stderr).toContain(`nothing answers at 127.0.0.1:${ports.a} and homelab:nodes still names node-a's old MAC ${MACS.a}`);
        MACS.a = "52:54:00:00:01:0a";
        await stack.setConfig("homelab:nodes", { value: JSON.stringify([{ ...JSON.parse(nodesConfig("a"))[0], role: "control-plane" }]) });
        const onlyControlPlane = forget("--replaced", "node-a", "--yes");
        expect(onlyControlPlane.status).toBe(1);
        expect(onlyControlPlane.stderr).toContain("node-a is the only control plane in homelab:nodes");
        await stack.setConfig("homelab:nodes", { value: nodesConfig("a") });
        const server = net.createServer((socket) => socket.end());
        await new Promise<void>((resolve) => server.listen(ports.a, "127.0.0.1", resolve));
        try {
            const answering = forget("--replaced", "node-a", "--yes");
            expect(answering.status).toBe(1);
            expect(answering.stderr).toContain(`something answers at 127.0.0.1:${ports.a}, and the state records no host key of node-a`);
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
        expect(JSON.stringify(await stack.exportStack())).toBe(before);
    });

    test("a new MAC and nothing answering: its resources leave the state, what depended on them stays, and the next up creates them again", async () => {
        const run = forget("--replaced", "node-a", "--yes");
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(run.stdout).toContain(`nothing answers at 127.0.0.1:${ports.a}, and homelab:nodes names a new MAC (${MACS.a}, was 52:54:00:00:00:0a)`);
        const left = await urns();
        expect(left.filter((name) => name.includes("node-a"))).toEqual([]);
        expect(left).toContain("lab-kubernetes-departures");

        const planned: string[] = [];
        await stack.preview({ color: "never", onEvent: (event) => { const step = event.resourcePreEvent?.metadata; if (step && step.op !== "same") planned.push(`${step.op} ${step.urn.slice(step.urn.lastIndexOf("::") + 2)}`); } });
        expect(planned.sort()).toEqual(["create lab-kubernetes-node-a-reset", "create node-a", "create node-a-poweroff"]);
        const result = await stack.up({ color: "never" });
        expect(result.summary.resourceChanges).toMatchObject({ create: 3 });
        expect((await urns()).filter((name) => name.includes("node-a")).sort()).toEqual(["lab-kubernetes-node-a-reset", "node-a", "node-a-poweroff"]);
    });
});

function listFiles(root: string): string[] {
    return fs.readdirSync(root, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(root, entry.name);
        return entry.isDirectory() ? listFiles(full) : [full];
    });
}
