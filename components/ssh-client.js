// OpenSSH's client as the local routines (power, backups) use it on the machine running Pulumi:
// the key arrives on stdin and lives in a root-only temporary directory with a known_hosts of the
// recorded host keys, so every connection checks the node it reaches.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

/** The key and a known_hosts of `nodes` ({ host, port, hostKey }) in a directory only this user reads. */
function sshFiles(nodes, key) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-ssh-"));
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, "key"), key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    const hosts = nodes.filter((node) => node.hostKey).map((node) => `${node.port === 22 ? node.host : `[${node.host}]:${node.port}`} ${node.hostKey.trim()}`);
    fs.writeFileSync(path.join(dir, "known_hosts"), `${hosts.join("\n")}\n`, { mode: 0o600 });
    return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** ssh's arguments to run, on `node` as `user`, a script read from stdin as root (sudo bash), or another remote command. */
function sshArgs(files, user, node, remoteCommand = "sudo -n bash -s") {
    return [
        "-i", path.join(files.dir, "key"), "-p", String(node.port),
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=15",
        "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(files.dir, "known_hosts")}`, "-o", "LogLevel=ERROR",
        `${user}@${node.host}`, remoteCommand,
    ];
}

/**
 * Runs, on `node` as `user`, `script` (sent on stdin to sudo bash) or `remoteCommand` with the file
 * `input` on its stdin; resolves with { code, stdout, stderr } once ssh ends, whatever its exit.
 */
function runOverSsh(files, user, node, { script, remoteCommand, input }) {
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", sshArgs(files, user, node, remoteCommand), { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "", stderr = "";
        child.stdout.on("data", (data) => { stdout += data; });
        child.stderr.on("data", (data) => { stderr += data; });
        child.on("error", (error) => reject(new Error(`${node.name}: cannot run ssh (${error.code}); install OpenSSH's client on this machine`)));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        if (input) fs.createReadStream(input).pipe(child.stdin);
        else child.stdin.end(script);
    });
}

/** A routine's entry point: the key is read whole from stdin, then `run(key)`; a failure's message goes to stderr, exit 1. */
function runWithKeyFromStdin(run) {
    let stdin = "";
    let settled = false;
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => { stdin += chunk; });
    process.stdin.on("end", () => {
        run(stdin).then(() => { settled = true; }, (error) => {
            process.stderr.write(`${error.message}\n`);
            process.exit(1);
        });
    });
    // Node exits with status 0 when nothing is left to wait for, even with the routine's promise still
    // pending: a routine that did not finish must not pass for one that did
    process.on("beforeExit", () => {
        if (settled) return;
        process.stderr.write("the routine stopped before it finished (a wait was left with nothing to wake it): this is a bug in homelab\n");
        process.exit(1);
    });
}

module.exports = { runOverSsh, runWithKeyFromStdin, sshFiles, sshArgs };
