#!/usr/bin/env node
// ClusterBackup's routine, run on the machine running Pulumi (a local command): takes an etcd
// snapshot with the PKI on the first control plane that answers (./render.ts renders the script;
// it comes in the plan, HOMELAB_BACKUP_PLAN, JSON, no secret), copies it here, checks the copy and
// keeps the newest `keep`. The SSH private key comes on stdin (../ssh-client.js). stdout is one
// line of JSON: the file, the node, when, its size and etcd's revision.
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { sshAnswers } = require("../baremetal/power.js");
const { runWithKeyFromStdin, sshArgs, sshFiles } = require("../ssh-client.js");
const { ARCHIVE_ENTRIES, snapshotFileName, snapshotTakenAt } = require("./names.js");

const log = (line) => process.stderr.write(`${line}\n`);

/** Runs the snapshot script on `node`, its stdout (the archive) into `part`; resolves with the sha256 the node printed. */
function fetchArchive(plan, files, node, part) {
    return new Promise((resolve, reject) => {
        const out = fs.createWriteStream(part, { mode: 0o600 });
        const child = spawn("ssh", sshArgs(files, plan.user, node), { stdio: ["pipe", "pipe", "pipe"] });
        let stderr = "";
        child.stdout.pipe(out);
        child.stderr.on("data", (data) => { stderr += data; });
        child.on("error", (error) => reject(new Error(`${node.name}: cannot run ssh (${error.code}); install OpenSSH's client on this machine`)));
        child.on("close", (code) => out.end(() => {
            const lines = stderr.split("\n").filter(Boolean);
            for (const line of lines.filter((l) => !l.startsWith("archive-sha256 "))) log(line.startsWith(`${node.name}:`) ? line : `${node.name}: ${line}`);
            const sha = lines.map((l) => /^archive-sha256 ([0-9a-f]{64})$/.exec(l)).find(Boolean);
            if (code !== 0) reject(new Error(`the snapshot on ${node.name} failed (exit ${code})`));
            else if (!sha) reject(new Error(`the snapshot on ${node.name} did not say its archive's sha256`));
            else resolve(sha[1]);
        }));
        child.stdin.end(plan.script);
    });
}

/** The copy is the node's archive (same sha256), a readable tar.gz holding the snapshot, its status and the PKI; resolves with what its meta.json says. */
function checkCopy(file, expectedSha) {
    const sha = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    if (sha !== expectedSha) throw new Error(`the copy ${file} differs from the archive on the node (sha256 ${sha}, the node's ${expectedSha})`);
    const listing = spawnSync("tar", ["-tzf", file], { encoding: "utf8" });
    if (listing.status !== 0) throw new Error(`the copy ${file} is not a readable tar.gz: ${listing.stderr.trim()}`);
    const entries = listing.stdout.split("\n");
    for (const needed of ARCHIVE_ENTRIES) {
        if (!entries.includes(needed)) throw new Error(`the copy ${file} holds no ${needed}`);
    }
    const meta = spawnSync("tar", ["-xzOf", file, "meta.json"], { encoding: "utf8" });
    return JSON.parse(meta.stdout);
}

/** Keeps the newest `keep` of this cluster's snapshots in `dir`, and those named in `spare`; says which it removed. */
function prune(dir, cluster, keep, spare = []) {
    const snapshots = fs.readdirSync(dir).filter((file) => snapshotTakenAt(cluster, file) !== undefined).sort();
    const removed = snapshots.slice(0, Math.max(0, snapshots.length - keep)).filter((file) => !spare.includes(file));
    for (const file of removed) fs.rmSync(path.join(dir, file));
    return removed;
}

/** Takes a snapshot on the first control plane that answers and keeps it; `spare` names files pruning must leave (one about to be restored). */
async function takeSnapshot(plan, files, spare = []) {
    const answers = await Promise.all(plan.nodes.map((node) => sshAnswers(node.host, node.port, 3000)));
    const candidates = plan.nodes.filter((_, index) => answers[index]);
    if (candidates.length === 0) throw new Error(`no control plane answers SSH (${plan.nodes.map((n) => `${n.name} at ${n.host}:${n.port}`).join(", ")}): no snapshot taken`);
    fs.mkdirSync(plan.directory, { recursive: true, mode: 0o700 });
    // snapshots hold every Secret of the cluster and its CA keys
    fs.chmodSync(plan.directory, 0o700);
    const failures = [];
    for (const node of candidates) {
        const takenAt = new Date();
        const file = path.join(plan.directory, snapshotFileName(plan.cluster, takenAt));
        const part = `${file}.part`;
        try {
            const sha = await fetchArchive(plan, files, node, part);
            const meta = checkCopy(part, sha);
            if (meta.cluster !== plan.cluster) throw new Error(`the archive from ${node.name} says it is of cluster ${meta.cluster}, not ${plan.cluster}`);
            fs.renameSync(part, file);
            const removed = prune(plan.directory, plan.cluster, plan.keep, spare);
            if (removed.length) log(`removed the oldest snapshots beyond ${plan.keep}: ${removed.join(", ")}`);
            log(`snapshot kept in ${file}`);
            return { file, node: node.name, at: meta.takenAt, bytes: fs.statSync(file).size, revision: meta.etcd?.revision };
        } catch (error) {
            fs.rmSync(part, { force: true });
            failures.push(error.message);
            log(`${error.message}${node === candidates[candidates.length - 1] ? "" : "; trying the next control plane"}`);
        }
    }
    throw new Error(`no snapshot taken: ${failures.join("; ")}`);
}

async function main(env, stdin) {
    const plan = JSON.parse(env.HOMELAB_BACKUP_PLAN ?? "{}");
    const files = sshFiles(plan.nodes, stdin);
    try {
        process.stdout.write(`${JSON.stringify(await takeSnapshot(plan, files, plan.spare ?? []))}\n`);
    } finally {
        files.cleanup();
    }
}

if (require.main === module) runWithKeyFromStdin((key) => main(process.env, key));

module.exports = { main, prune, takeSnapshot, checkCopy };
