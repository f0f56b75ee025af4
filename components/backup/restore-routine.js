#!/usr/bin/env node
// ClusterRestore's routine, run on the machine running Pulumi (a local command): restores one etcd
// snapshot kept here on every control plane (./restore-render.ts renders the scripts; they come in
// the plan, HOMELAB_RESTORE_PLAN, JSON, no secret). Stage by stage, each on every node before the
// next: receive and check the snapshot, restore each member's data beside the live data, take a
// snapshot of the cluster as it is (kept here, like every other), stop the API servers and etcd,
// swap the data and start them again, then see every member agree and the API answer through the
// VIP (the stop, the start and the check on every node at once: the API is away until all are done). Until the stop, nothing the cluster runs on is touched; a stop that fails puts every held
// manifest back. The SSH private key comes on stdin (../ssh-client.js). stdout is one line of JSON.
"use strict";
const { spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { sshAnswers } = require("../baremetal/power.js");
const { runOverSsh, runWithKeyFromStdin, sshFiles } = require("../ssh-client.js");
const { takeSnapshot } = require("./routine.js");

const log = (line) => process.stderr.write(`${line}\n`);
const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const quote = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;

/** Runs `script` (with RESTORE_* assignments before it) on `node`, or sends the file `input` to `remoteCommand`; resolves with stdout. */
async function onNode(plan, files, node, { script, vars = {}, remoteCommand, input }) {
    const assignments = Object.entries(vars).map(([name, value]) => `${name}=${quote(value)}\n`).join("");
    const { code, stdout, stderr } = await runOverSsh(files, plan.user, node, input ? { remoteCommand, input } : { script: `${assignments}${script}` });
    const lines = stderr.split("\n").filter(Boolean).map((line) => (line.startsWith(`${node.name}:`) ? line : `${node.name}: ${line}`));
    for (const line of lines) log(line);
    if (code !== 0) throw new Error(lines.length ? lines[lines.length - 1] : `${node.name}: exit ${code}`);
    return stdout;
}

/** The archive named is the one the preview saw (its sha256), of this cluster; its snapshot.db extracted into `dir`. */
function unpack(plan, dir) {
    if (!fs.existsSync(plan.file)) throw new Error(`${plan.file} is gone since the plan was made: nothing stopped`);
    const have = sha256(plan.file);
    if (have !== plan.sha256) throw new Error(`${plan.file} changed since the plan was made (sha256 ${have}, planned ${plan.sha256}): run the preview again; nothing stopped`);
    const tar = spawnSync("tar", ["-xzf", plan.file, "-C", dir, "meta.json", "snapshot.db", "pki/ca.crt"], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`${plan.file} cannot be unpacked: ${tar.stderr.trim()}; nothing stopped`);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "meta.json"), "utf8"));
    if (meta.cluster !== plan.cluster) throw new Error(`${plan.file} is a snapshot of cluster ${meta.cluster}, not ${plan.cluster}: nothing stopped`);
    return { db: path.join(dir, "snapshot.db"), meta, caSha: sha256(path.join(dir, "pki", "ca.crt")) };
}

/** Runs `step` on every node, one after another; the first failure stops the stage. */
async function onEveryNode(plan, step) {
    const results = [];
    for (const node of plan.nodes) results.push(await step(node));
    return results;
}

/** Runs `step` on every node at once (the API is away until the last one is done); fails with every node's failure once all ended. */
async function onEveryNodeAtOnce(plan, step) {
    const outcomes = await Promise.allSettled(plan.nodes.map(step));
    const failures = outcomes.filter((outcome) => outcome.status === "rejected").map((outcome) => outcome.reason.message);
    if (failures.length) throw new Error(failures.join("; "));
    return outcomes.map((outcome) => outcome.value);
}

async function restore(plan, files) {
    const started = Date.now();
    const answers = await Promise.all(plan.nodes.map((node) => sshAnswers(node.host, node.port, 3000)));
    const silent = plan.nodes.filter((_, index) => !answers[index]);
    if (silent.length) throw new Error(`a restore needs every control plane, and ${silent.map((n) => `${n.name} at ${n.host}:${n.port}`).join(", ")} does not answer SSH: nothing stopped`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-restore-"));
    try {
        const { db, meta, caSha } = unpack(plan, dir);
        const dbSha = sha256(db);
        log(`restoring ${path.basename(plan.file)} (taken ${meta.takenAt} on ${meta.node}, etcd revision ${meta.etcd?.revision}) on ${plan.nodes.map((n) => n.name).join(", ")}`);

        const putBack = () => Promise.allSettled(plan.nodes.map((node) => onNode(plan, files, node, { script: plan.scripts.release })));
        let before, members;
        try {
            members = await onEveryNode(plan, async (node) => {
                await onNode(plan, files, node, { remoteCommand: plan.receiveCommand, input: db });
                const out = await onNode(plan, files, node, { script: plan.scripts.check, vars: { RESTORE_SHA: dbSha, RESTORE_CA_SHA: caSha, RESTORE_CEPH_FSID: meta.ceph?.fsid ?? "" } });
                const member = /^member (\S+) (\S+)$/m.exec(out);
                if (!member) throw new Error(`${node.name}: the check did not say its etcd member: nothing stopped`);
                return { name: member[1], peer: member[2] };
            });
            const initialCluster = members.map((m) => `${m.name}=${m.peer}`).join(",");
            // a cluster of its own: no member of the cluster before can take part
            const token = `homelab-restore-${Date.now().toString(36)}`;
            await onEveryNode(plan, (node) => {
                const member = members[plan.nodes.indexOf(node)];
                return onNode(plan, files, node, { script: plan.scripts.data, vars: { RESTORE_NAME: member.name, RESTORE_PEER: member.peer, RESTORE_CLUSTER: initialCluster, RESTORE_TOKEN: token } });
            });
            // the cluster as it is now is kept too: a restore of the wrong snapshot can be undone
            before = await takeSnapshot({ ...plan.snapshot, user: plan.user, cluster: plan.cluster, nodes: plan.nodes }, files, [path.basename(plan.file)]);
            log(`the cluster as it was before the restore is kept in ${before.file}`);
            await onEveryNodeAtOnce(plan, (node) => onNode(plan, files, node, { script: plan.scripts.stop }));
        } catch (error) {
            // nothing was swapped yet: what was sent or restored beside the live data goes, held manifests come back
            log(`${error.message}; putting every control plane back as it was`);
            await putBack();
            throw new Error(`the restore stopped before any data was swapped: ${error.message}`);
        }
        const stopped = Date.now();
        await onEveryNodeAtOnce(plan, (node) => onNode(plan, files, node, { script: plan.scripts.start }));

        const seen = await onEveryNodeAtOnce(plan, async (node) => {
            const out = await onNode(plan, files, node, { script: plan.scripts.health });
            const match = /^etcd (\d+) (\S+) (\d+)$/m.exec(out);
            if (!match) throw new Error(`${node.name}: the health check did not say what its etcd sees (it said: ${out.trim() || "nothing"})`);
            return { node: node.name, clusterId: match[1], members: match[2], revision: Number(match[3]) };
        });
        const expectedMembers = members.map((m) => m.name).sort().join(",");
        const disagree = seen.filter((s) => s.clusterId !== seen[0].clusterId || s.members !== expectedMembers);
        if (disagree.length) throw new Error(`after the restore the members disagree: ${seen.map((s) => `${s.node} sees cluster ${s.clusterId} with ${s.members}`).join("; ")} (expected ${expectedMembers})`);
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        log(`restored on every control plane; the API answers through the VIP (${seconds} s in all, ${Math.round((Date.now() - stopped) / 100) / 10} s from the stop)`);
        return { file: plan.file, takenAt: meta.takenAt, revision: meta.etcd?.revision, members: members.map((m) => m.name), before: before.file, at: new Date().toISOString(), seconds };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main(env, stdin) {
    const plan = JSON.parse(env.HOMELAB_RESTORE_PLAN ?? "{}");
    const files = sshFiles(plan.nodes, stdin);
    try {
        process.stdout.write(`${JSON.stringify(await restore(plan, files))}\n`);
    } finally {
        files.cleanup();
    }
}

if (require.main === module) runWithKeyFromStdin((key) => main(process.env, key));

module.exports = { main };
