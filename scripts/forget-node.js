#!/usr/bin/env node
// forget-node: take out a node whose machine is gone for good (a dead board, a lost disk).
//
//   npm run forget-node -- <hostname> [--stack <name>] [--yes]
//   npm run forget-node -- --replaced <hostname> [--stack <name>] [--yes]
//
// A node taken out of homelab:nodes leaves by `pulumi up`: the nodes that stay take it out of Ceph,
// etcd and Kubernetes, then the node's own steps reset it, wipe its disks (when asked to) and power
// it off, over SSH. A machine that no longer answers cannot run those last steps, and every up fails
// on them. This marks that node's resources in the stack's state as retained on delete, so that the
// next up drops them from the state without connecting to the machine. Nothing else in the state
// changes, and no machine is touched here.
//
// Refused, with the reason: while the node is still in homelab:nodes, while anything answers SSH at
// its address (a node that answers leaves by `pulumi up`, reset and powered off), while an update
// is pending in the state, or when the state has no such node.
//
// --replaced: the node stays, on another machine (a dead board or disk replaced, the OS installed
// anew, the same hostname and address). Its resources are dropped from the state, so that the next
// up creates them all against the new machine: it wakes the MAC now in homelab:nodes, records the
// host key the new machine shows, prepares it and joins it, after the nodes that stay have removed
// what the old machine left (its Node, its etcd member, its OSDs). Refused unless the old machine
// is provably gone: homelab:nodes names another MAC than the state and nothing answers at the
// address, or what answers there shows another SSH host key than the one recorded.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { scanHostKey } = require("../components/baremetal/power.js");

const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
const NODE_TYPE = "homelab:index:BareMetalNode";
const PROBE_SECONDS = 10;

/** A value from `pulumi stack export --show-secrets`: secrets come as { <signature>: …, plaintext: "<JSON>" }. */
function reveal(value) {
    if (value && typeof value === "object" && SECRET_SIGNATURE in value) {
        if (typeof value.plaintext !== "string") throw new Error("the export holds a secret without its plaintext: export it with --show-secrets");
        return JSON.parse(value.plaintext);
    }
    return value;
}

const nameOf = (urn) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * The deployment without those resources; every reference to them from the rest (dependencies,
 * property dependencies, deleted-with) dropped too, as the engine checks that each names a resource
 * before it. What depended on them is not changed on any machine: the next up creates them anew.
 */
function withoutResources(deployment, urns) {
    const gone = new Set(urns);
    const kept = (list) => (list ?? []).filter((urn) => !gone.has(urn));
    const resources = deployment.resources.filter((resource) => !gone.has(resource.urn)).map((resource) => {
        const copy = { ...resource };
        if (resource.dependencies) copy.dependencies = kept(resource.dependencies);
        if (resource.propertyDependencies) {
            copy.propertyDependencies = Object.fromEntries(Object.entries(resource.propertyDependencies).map(([key, list]) => [key, kept(list)]));
        }
        if (resource.deletedWith && gone.has(resource.deletedWith)) delete copy.deletedWith;
        return copy;
    });
    return { ...deployment, resources };
}

/** The entries of homelab:nodes, from `pulumi config get homelab:nodes --json`. */
function configuredNodes(configJson) {
    const entry = JSON.parse(configJson);
    const nodes = entry.objectValue ?? JSON.parse(entry.value);
    return Array.isArray(nodes) ? nodes.filter((node) => typeof node?.hostname === "string" && node.hostname) : [];
}

/** The node's config entry from `pulumi config get homelab:nodes --json`, or undefined. */
function configuredNode(configJson, hostname) {
    return configuredNodes(configJson).find((node) => node.hostname === hostname);
}

/**
 * Why the node cannot be replaced where homelab:nodes lists it, or undefined: the first control plane
 * listed runs the cluster's own steps (kubeadm init, the joins' tokens, Calico's and Rook's), so a new
 * machine there would start a second cluster; it joins as any other once another control plane is first.
 */
function replacementPlaceProblem(nodes, hostname) {
    const controlPlanes = nodes.filter((node) => (node.role ?? "control-plane") === "control-plane").map((node) => node.hostname);
    if (controlPlanes[0] !== hostname) return undefined;
    const next = controlPlanes[1];
    if (!next) return `${hostname} is the only control plane in homelab:nodes: a new machine in its place cannot join a cluster that has no other control plane left (rebuild it from a snapshot: homelab:backups.restoreFrom). Nothing was changed`;
    return `${hostname} is the first control plane in homelab:nodes, which runs the cluster's own steps (kubeadm init, the joins' tokens, Calico and Rook), so a new machine there would start a second, empty cluster. List another control plane first (e.g. ${next}) and ${hostname} after it in homelab:nodes, then run this again: ${next} takes over those steps and ${hostname} joins as the others did. Nothing was changed`;
}

/** The host key the state recorded for the node: its host-key step's output (none where the config pins one). */
function recordedHostKey(deployment, hostname, urns) {
    const step = deployment.resources.find((resource) => urns.includes(resource.urn) && nameOf(resource.urn) === `${hostname}-host-key`);
    const key = reveal(step?.outputs?.stdout);
    return typeof key === "string" && key.trim() ? key.trim() : undefined;
}

/**
 * Whether the machine at the address is provably not the one the state knows: the reason, or a
 * problem. `answering`: whether anything accepts a connection there; `shown`: the host key it shows
 * (ssh-keyscan), when it does.
 */
function replacementEvidence({ hostname, address, port, stateMac, configMac, recordedKey, answering, shown }) {
    const macChanged = typeof configMac === "string" && typeof stateMac === "string" && configMac.toLowerCase() !== stateMac.toLowerCase();
    if (!answering) {
        if (macChanged) return { reason: `nothing answers at ${address}:${port}, and homelab:nodes names a new MAC (${configMac}, was ${stateMac})` };
        return { problem: `nothing answers at ${address}:${port} and homelab:nodes still names ${hostname}'s old MAC ${stateMac}: if the machine is only switched off, \`pulumi up\` wakes it; if it was replaced, put the new machine's MAC in homelab:nodes first. Nothing was changed` };
    }
    if (!recordedKey) return { problem: `something answers at ${address}:${port}, and the state records no host key of ${hostname} to tell the old machine from a new one (a key pinned in homelab:nodes[N].sshHostKey: pin the new machine's). Nothing was changed` };
    if (!shown) return { problem: `something answers at ${address}:${port} but shows no SSH host key: cannot tell whether it is ${hostname}'s old machine. Nothing was changed` };
    if (shown === recordedKey) return { problem: `the machine at ${address}:${port} shows the host key recorded for ${hostname}: it is the old machine, still running; a running node is not replaced. Nothing was changed` };
    return { reason: `the machine at ${address}:${port} shows another host key than the one recorded for ${hostname}${macChanged ? `, and homelab:nodes names a new MAC (${configMac}, was ${stateMac})` : ""}` };
}

/**
 * The node's resources in a deployment exported with its secrets shown: its BareMetalNode and
 * everything under it, and every resource that connects to the node's address over SSH.
 * Returns { address, port, urns } or a problem naming the nodes the state has.
 */
function nodeResources(deployment, hostname) {
    const resources = deployment.resources ?? [];
    const nodes = resources.filter((resource) => resource.type === NODE_TYPE);
    const node = nodes.find((resource) => resource.outputs?.hostname === hostname);
    if (!node) {
        const known = nodes.map((resource) => resource.outputs?.hostname).filter(Boolean);
        return { problem: `the stack's state has no node ${hostname} (its nodes: ${known.join(", ") || "none"})` };
    }
    const address = node.outputs.address;
    const urns = new Set([node.urn]);
    // children come after their parents in a deployment; repeat until nothing is added to be safe
    for (let grew = true; grew;) {
        grew = false;
        for (const resource of resources) {
            if (!urns.has(resource.urn) && urns.has(resource.parent)) { urns.add(resource.urn); grew = true; }
        }
    }
    // where the node's own steps connect (its address, and the port they use); every step that
    // connects there is the node's, whichever component made it
    const connections = new Map(resources.filter((resource) => resource.inputs?.connection !== undefined).map((resource) => [resource.urn, reveal(resource.inputs.connection)]));
    const own = [...urns].map((urn) => connections.get(urn)).find((connection) => connection?.host === address);
    const port = Number(own?.port ?? 22);
    for (const [urn, connection] of connections) {
        if (connection?.host === address && Number(connection.port ?? 22) === port) urns.add(urn);
    }
    return { address, port, urns: resources.map((resource) => resource.urn).filter((urn) => urns.has(urn)) };
}

/** The deployment with those resources retained on delete; the rest untouched. */
function retainOnDelete(deployment, urns) {
    const wanted = new Set(urns);
    return { ...deployment, resources: deployment.resources.map((resource) => (wanted.has(resource.urn) ? { ...resource, retainOnDelete: true } : resource)) };
}

/** Whether anything accepts a TCP connection at the address within the time. */
function answers(host, port, seconds) {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (result) => { socket.destroy(); resolve(result); };
        socket.setTimeout(seconds * 1000, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

function parseArgs(argv) {
    const args = { hostname: undefined, stack: undefined, yes: false, replaced: false };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--yes" || arg === "-y") args.yes = true;
        else if (arg === "--replaced") args.replaced = true;
        else if (arg === "--stack" || arg === "-s") args.stack = argv[++i];
        else if (arg.startsWith("--stack=")) args.stack = arg.slice("--stack=".length);
        else if (!arg.startsWith("-") && args.hostname === undefined) args.hostname = arg;
        else throw new Error(`unknown argument ${arg}`);
    }
    if (!args.hostname) throw new Error("which node? usage: npm run forget-node -- [--replaced] <hostname> [--stack <name>] [--yes]");
    return args;
}

/** Whether to go on: --yes, or yes at the prompt; otherwise it says that nothing was changed. */
async function goOn(args) {
    if (args.yes || (await confirm("Go on? [y/N] "))) return true;
    console.log("Nothing was changed.");
    process.exitCode = 1;
    return false;
}

async function confirm(question) {
    if (!process.stdin.isTTY) return false;
    const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise((resolve) => prompt.question(question, resolve));
    prompt.close();
    return /^y(es)?$/i.test(answer.trim());
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const stackArgs = args.stack ? ["--stack", args.stack] : [];
    const pulumi = (...command) => execFileSync("pulumi", [...command, ...stackArgs], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "inherit"] });

    const nodesJson = pulumi("config", "get", "homelab:nodes", "--json");
    if (args.replaced) return replaced(args, pulumi, nodesJson);
    if (configuredNode(nodesJson, args.hostname)) {
        throw new Error(`${args.hostname} is still in homelab:nodes: take it out of the config first; forget-node only lets the next up drop a node that is gone`);
    }
    const { shown, exported } = exportState(pulumi);
    const found = nodeResources(shown, args.hostname);
    if (found.problem) throw new Error(found.problem);
    if (await answers(found.address, found.port, PROBE_SECONDS)) {
        throw new Error(`something answers at ${found.address}:${found.port}, the address of ${args.hostname}: a node that answers leaves by \`pulumi up\` (reset and powered off); forget-node is for a machine that is gone. Nothing was changed`);
    }
    const todo = found.urns.filter((urn) => !exported.deployment.resources.find((resource) => resource.urn === urn)?.retainOnDelete);
    if (todo.length === 0) {
        console.log(`${args.hostname}'s ${found.urns.length} resources are already retained on delete: the next \`pulumi up\` drops them`);
        return;
    }
    console.log(`${args.hostname} does not answer at ${found.address}:${found.port}. The next \`pulumi up\` drops these ${found.urns.length} resources from the state without connecting to it:`);
    for (const urn of found.urns) console.log(`  ${nameOf(urn)}`);
    console.log("Its own steps do not run: kubeadm is not reset there, its disks are not wiped, it is not powered off.");
    console.log("The nodes that stay still take it out of Ceph, etcd and Kubernetes. Should the machine ever start again, wipe it before it joins anything.");
    if (!(await goOn(args))) return;
    importState(pulumi, exported, retainOnDelete(exported.deployment, found.urns));
    console.log(`Done: run \`pulumi preview\`, then \`pulumi up\`.`);
}

/**
 * Reads the state, exported twice: with secrets shown, in memory only, to read where each step
 * connects; and as it is stored, which is what is imported back, its secrets still encrypted.
 */
function exportState(pulumi) {
    const shown = JSON.parse(pulumi("stack", "export", "--show-secrets")).deployment;
    const exported = JSON.parse(pulumi("stack", "export"));
    if ((exported.deployment.pending_operations ?? []).length > 0) {
        throw new Error("the state has operations pending from an update that did not finish: run `pulumi refresh` (or `pulumi cancel`) first");
    }
    return { shown, exported };
}

function importState(pulumi, exported, deployment) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forget-node-"));
    try {
        const file = path.join(dir, "state.json");
        fs.writeFileSync(file, JSON.stringify({ ...exported, deployment }), { mode: 0o600 });
        pulumi("stack", "import", "--file", file);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function replaced(args, pulumi, nodesJson) {
    const nodes = configuredNodes(nodesJson);
    const configured = nodes.find((node) => node.hostname === args.hostname);
    if (!configured) throw new Error(`${args.hostname} is not in homelab:nodes: --replaced is for a node that stays on a new machine; for one taken out, run forget-node without it`);
    const misplaced = replacementPlaceProblem(nodes, args.hostname);
    if (misplaced) throw new Error(misplaced);
    const { shown, exported } = exportState(pulumi);
    const found = nodeResources(shown, args.hostname);
    if (found.problem) throw new Error(found.problem);
    const node = shown.resources.find((resource) => resource.type === NODE_TYPE && resource.outputs?.hostname === args.hostname);
    const answering = await answers(found.address, found.port, PROBE_SECONDS);
    const shownKey = answering ? scanHostKey({ node: args.hostname, host: found.address, sshPort: found.port }) : undefined;
    const evidence = replacementEvidence({
        hostname: args.hostname, address: found.address, port: found.port, stateMac: node.outputs?.mac, configMac: configured.mac,
        recordedKey: recordedHostKey(shown, args.hostname, found.urns), answering, shown: shownKey,
    });
    if (evidence.problem) throw new Error(evidence.problem);
    console.log(`${args.hostname} is on another machine: ${evidence.reason}.`);
    console.log(`The next \`pulumi up\` creates these ${found.urns.length} resources anew, against the new machine; they are dropped from the state now:`);
    for (const urn of found.urns) console.log(`  ${nameOf(urn)}`);
    console.log("Nothing of the old machine is reset, wiped or powered off: it is gone. Before the new machine joins, the nodes that stay");
    console.log("remove the old one's Node and etcd member; once the new machine's OSDs are up, the old machine's OSDs are purged from Ceph.");
    if (!(await goOn(args))) return;
    importState(pulumi, exported, withoutResources(exported.deployment, found.urns));
    console.log(`Done: run \`pulumi preview\` (it plans to create ${args.hostname}'s steps), then \`pulumi up\`.`);
}

module.exports = { nodeResources, retainOnDelete, withoutResources, replacementEvidence, replacementPlaceProblem, configuredNode };

if (require.main === module) {
    main().catch((error) => {
        console.error(`forget-node: ${error.message}`);
        process.exitCode = 1;
    });
}
