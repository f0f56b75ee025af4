#!/usr/bin/env node
// LabPower's routine, run on the machine running Pulumi (a local command): switches the whole lab
// off in a safe order, or sees it healthy again after it is switched on. The scripts it runs on
// the nodes are rendered by ./render.ts and come in the plan (HOMELAB_POWER_PLAN, JSON, no
// secret); the SSH private key comes on stdin (../ssh-client.js).
"use strict";
const { sendMagicPacket, sshAnswers, sshAnswersPatiently } = require("../baremetal/power.js");
const { runOverSsh, runWithKeyFromStdin, sshFiles } = require("../ssh-client.js");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => process.stderr.write(`${line}\n`);

/** Runs a rendered script as root on a node (sudo bash reading it from stdin); resolves with its stdout, rejects with its stderr. */
async function runOn(plan, files, node, what, text) {
    const { code, stdout, stderr } = await runOverSsh(files, plan.user, node, { script: text });
    for (const line of `${stdout}${stderr}`.split("\n").filter(Boolean)) log(`${node.name}: ${line}`);
    if (code !== 0) throw Object.assign(new Error(`${what} on ${node.name} failed (exit ${code})${stderr.trim() ? `: ${stderr.trim()}` : ""}`), { code });
    return stdout.trim();
}

/** The nodes whose SSH answers (a TCP connection and its banner, no login); one that misses a probe is asked again (power.js). */
async function answering(nodes) {
    const answers = await Promise.all(nodes.map((node) => sshAnswersPatiently(node.host, node.port, 5000)));
    return nodes.filter((_, index) => answers[index]);
}

/** SSH closed, and still closed at the next checks: one slow banner from a loaded node is not a shutdown. */
async function waitClosed(node, timeoutSeconds, checks = 3) {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let closedFor = 0;
    while (Date.now() < deadline) {
        closedFor = (await sshAnswers(node.host, node.port, 5000)) ? 0 : closedFor + 1;
        if (closedFor >= checks) return;
        await sleep(2000);
    }
    throw new Error(`${node.name}: SSH at ${node.host}:${node.port} still answers ${timeoutSeconds} s after its shutdown began`);
}

async function wake(plan, node) {
    if (await sshAnswers(node.host, node.port, 2000)) return;
    const { broadcast, port, timeoutSeconds } = plan.wakeOnLan;
    const deadline = Date.now() + timeoutSeconds * 1000;
    let nextSend = 0;
    while (Date.now() < deadline) {
        if (Date.now() >= nextSend) {
            log(`${node.name}: sending Wake-on-LAN to ${node.mac} via ${broadcast}:${port}`);
            await sendMagicPacket(node.mac, broadcast, port);
            nextSend = Date.now() + 30000;
        }
        await sleep(2000);
        if (await sshAnswers(node.host, node.port, 2000)) {
            log(`${node.name}: SSH answers`);
            return;
        }
    }
    throw new Error(`${node.name}: no SSH answer at ${node.host}:${node.port} within ${timeoutSeconds} s of Wake-on-LAN to ${node.mac}`);
}

/**
 * Off: with storage, Ceph checked HEALTH_OK and noout set on a control plane; then every node that
 * is on shuts down (the seed's poweroff.yml: shutdown -P, then a wait until SSH is closed):
 * workers, then control planes, the one holding the API's VIP last, so the API answers as long as
 * any control plane runs.
 */
async function powerOff(plan, files) {
    const on = await answering(plan.nodes);
    if (on.length === 0) {
        log("every machine is off already");
        return;
    }
    const controlPlanes = on.filter((node) => node.role === "control-plane");
    const admin = controlPlanes[0];
    let holder;
    if (admin && plan.scripts.preflight) {
        await runOn(plan, files, admin, "the check before the shutdown", plan.scripts.preflight).catch((error) => {
            throw error.code === 3 ? new Error(`shutdown refused, nothing was shut down: ${error.message}`) : error;
        });
    } else if (!admin) {
        log("no control plane answers: nothing to check or set before the shutdown");
    }
    if (admin && plan.scripts.vipHolder) holder = (await runOn(plan, files, admin, "finding the VIP's holder", plan.scripts.vipHolder).catch(() => "")) || undefined;
    const order = [
        ...on.filter((node) => node.role !== "control-plane"),
        ...controlPlanes.filter((node) => node.name !== holder),
        ...controlPlanes.filter((node) => node.name === holder),
    ];
    log(`shutting down in this order: ${order.map((node) => node.name).join(", ")}${holder ? ` (${holder} holds the VIP)` : ""}`);
    const shutDown = async (node) => {
        await runOn(plan, files, node, "the shutdown", plan.scripts.shutdown[node.name]);
        await waitClosed(node, plan.wakeOnLan.timeoutSeconds);
        log(`${node.name}: powered off`);
    };
    for (const node of order) await shutDown(node);
    // off means every machine off: one that answers now without having answered before is shut down too
    for (const node of await answering(plan.nodes.filter((node) => !order.includes(node)))) {
        log(`${node.name}: answers SSH now, though it did not when the shutdown began: shutting it down too`);
        await shutDown(node);
    }
}

/** On: every machine woken (Wake-on-LAN, resent) and answering SSH; the API through the VIP with etcd's quorum and every node Ready; noout unset and Ceph HEALTH_OK. */
async function powerOn(plan, files) {
    await Promise.all(plan.nodes.map((node) => wake(plan, node)));
    const admin = (await answering(plan.nodes.filter((node) => node.role === "control-plane")))[0];
    if (!admin) throw new Error("no control plane answers SSH after being woken");
    for (const [what, key] of [["the wait for the cluster", "clusterWait"], ["unsetting noout", "nooutUnset"], ["the wait for Ceph", "storageWait"]]) {
        if (plan.scripts[key]) await runOn(plan, files, admin, what, plan.scripts[key]);
    }
}

async function main(argv, env, stdin) {
    const plan = JSON.parse(env.HOMELAB_POWER_PLAN ?? "{}");
    const state = argv[0];
    if (state !== "on" && state !== "off") throw new Error(`usage: routine.js on|off (got ${state})`);
    const files = sshFiles(plan.nodes, stdin);
    try {
        const started = Date.now();
        if (state === "off") await powerOff(plan, files); else await powerOn(plan, files);
        const seconds = Math.round((Date.now() - started) / 1000);
        // the one line on stdout: what the stack output says of the lab's power
        process.stdout.write(`${JSON.stringify({ state, seconds, at: new Date().toISOString() })}\n`);
    } finally {
        files.cleanup();
    }
}

if (require.main === module) runWithKeyFromStdin((key) => main(process.argv.slice(2), process.env, key));

module.exports = { main, powerOff, powerOn, runOn };
