#!/usr/bin/env node
// Power control from the machine running Pulumi, as the seed's wakeup.yml and
// poweroff.yml do it: Wake-on-LAN when SSH does not answer, then wait for SSH;
// on delete, wait until SSH is closed. Also the node's SSH host key, recorded at
// first contact (trust on first use). Configured by HOMELAB_* variables.
"use strict";
const { createHash } = require("node:crypto");
const { spawnSync } = require("node:child_process");
const dgram = require("node:dgram");
const net = require("node:net");

/** The magic packet: six 0xFF bytes, then the MAC sixteen times. */
function magicPacket(mac) {
    const hex = mac.replace(/[:-]/g, "");
    if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new Error(`not a MAC address: ${mac}`);
    const macBytes = Buffer.from(hex, "hex");
    return Buffer.concat([Buffer.alloc(6, 0xff), ...Array(16).fill(macBytes)]);
}

function sendMagicPacket(mac, broadcast, port) {
    return new Promise((resolve, reject) => {
        const socket = dgram.createSocket("udp4");
        socket.once("error", (error) => { socket.close(); reject(error); });
        socket.bind(() => {
            socket.setBroadcast(true);
            socket.send(magicPacket(mac), port, broadcast, (error) => {
                socket.close();
                if (error) reject(error); else resolve();
            });
        });
    });
}

/** True when an SSH server answers with its banner within timeoutMs. */
function sshAnswers(host, port, timeoutMs) {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (answer) => { socket.destroy(); resolve(answer); };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once("error", () => done(false));
        socket.once("data", (data) => done(data.toString("latin1").startsWith("SSH-")));
        // accepted and closed with no banner (an sshd that is stopping): not answering. Without this the
        // promise never settled, nothing kept Node running, and the power routine ended early with
        // status 0, leaving the VIP's holder on (the power suite of 2026-12-07)
        socket.once("close", () => done(false));
    });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether SSH answers, asked up to `tries` times, 2 s apart: a machine counts as off only when none
 * of them is answered. A loaded machine's sshd can miss one probe (the VIP's holder of the lab missed a
 * 3 s probe and was taken as off by a power-off, which left it running).
 */
async function sshAnswersPatiently(host, port, timeoutMs, tries = 3) {
    for (let attempt = 1; attempt <= tries; attempt++) {
        if (await sshAnswers(host, port, timeoutMs)) return true;
        if (attempt < tries) await sleep(2000);
    }
    return false;
}

function settings(env) {
    const required = (name) => {
        const value = env[name];
        if (!value) throw new Error(`${name} is not set`);
        return value;
    };
    return {
        node: required("HOMELAB_NODE"),
        host: required("HOMELAB_SSH_HOST"),
        sshPort: Number(required("HOMELAB_SSH_PORT")),
        mac: env.HOMELAB_MAC,
        broadcast: env.HOMELAB_WOL_BROADCAST,
        wolPort: Number(env.HOMELAB_WOL_PORT || 9),
        timeoutSeconds: Number(env.HOMELAB_TIMEOUT_SECONDS || 300),
        pollMs: Number(env.HOMELAB_POLL_MS || 2000),
        scanAttempts: Number(env.HOMELAB_SCAN_ATTEMPTS || 15),
        power: env.HOMELAB_POWER || "on",
        resendSeconds: 30,
    };
}

async function wake(s, log) {
    if (s.power === "off") {
        log(`${s.node}: the lab's power is off: not waking it`);
        return;
    }
    if (await sshAnswers(s.host, s.sshPort, 2000)) {
        log(`${s.node}: SSH answers at ${s.host}:${s.sshPort}; already powered on`);
        return;
    }
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    let nextSend = 0;
    while (Date.now() < deadline) {
        if (Date.now() >= nextSend) {
            log(`${s.node}: sending Wake-on-LAN to ${s.mac} via ${s.broadcast}:${s.wolPort}`);
            await sendMagicPacket(s.mac, s.broadcast, s.wolPort);
            nextSend = Date.now() + s.resendSeconds * 1000;
        }
        await sleep(s.pollMs);
        if (await sshAnswers(s.host, s.sshPort, 2000)) {
            log(`${s.node}: SSH answers at ${s.host}:${s.sshPort}`);
            return;
        }
    }
    throw new Error(`${s.node}: no SSH answer at ${s.host}:${s.sshPort} within ${s.timeoutSeconds} s of Wake-on-LAN to ${s.mac} via ${s.broadcast}:${s.wolPort}; ` +
        "check that the machine is plugged in, Wake-on-LAN is on in its firmware, and the broadcast address reaches its network");
}

async function waitOff(s, log) {
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    while (Date.now() < deadline) {
        if (!(await sshAnswers(s.host, s.sshPort, 2000))) {
            log(`${s.node}: SSH at ${s.host}:${s.sshPort} is closed; powered off`);
            return;
        }
        await sleep(s.pollMs);
    }
    throw new Error(`${s.node}: SSH at ${s.host}:${s.sshPort} still answers ${s.timeoutSeconds} s after power-off was requested`);
}

/**
 * Host key types in the order they are preferred; the first the node offers is recorded. Not RSA:
 * a pinned "ssh-rsa" key makes the official command provider ask for SHA-1 signatures, which
 * current OpenSSH servers refuse.
 */
const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];

/** OpenSSH's fingerprint of a host key line ("ssh-ed25519 AAAA..."): SHA256:<base64 without padding>. */
function fingerprint(keyLine) {
    const blob = Buffer.from(keyLine.trim().split(/\s+/)[1] ?? "", "base64");
    return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The node's preferred host key as "TYPE BASE64", read with ssh-keyscan (which checks the key signs the exchange). */
function scanHostKey(s) {
    const result = spawnSync("ssh-keyscan", ["-T", "10", "-p", String(s.sshPort), "-t", "ed25519,ecdsa", s.host], { encoding: "utf8" });
    if (result.error) throw new Error(`${s.node}: cannot run ssh-keyscan (${result.error.code}); install OpenSSH's client on this machine`);
    const offered = new Map((result.stdout || "").split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields.length >= 3 && !fields[0].startsWith("#"))
        .map(([, type, key]) => [type, `${type} ${key}`]));
    for (const type of HOST_KEY_TYPES) if (offered.has(type)) return offered.get(type);
    return undefined;
}

/**
 * Prints the host key every SSH step of this node then requires. Run when the node is first reached
 * (and again only if its address or port change): the key seen then is trusted, and a key that
 * differs from the one recorded before (PULUMI_COMMAND_STDOUT, the previous run's output) fails.
 */
async function hostKey(s, log, previous) {
    let key;
    for (let attempt = 1; attempt <= s.scanAttempts && !key; attempt++) {
        key = scanHostKey(s);
        if (!key && attempt < s.scanAttempts) await sleep(s.pollMs);
    }
    if (!key) throw new Error(`${s.node}: no Ed25519 or ECDSA SSH host key from ${s.host}:${s.sshPort} (ssh-keyscan found none); pin the node's key in homelab:nodes[N].sshHostKey`);
    if (previous && previous.trim() !== key) {
        throw new Error(`${s.node}: the SSH host key at ${s.host}:${s.sshPort} is ${fingerprint(key)}, not ${fingerprint(previous)} as recorded; ` +
            "nothing was sent to it. If this is not the same machine, find out why before going on. If the node was reinstalled on purpose, " +
            `pin its new key in the stack config and run pulumi up again: pulumi config set --path 'homelab:nodes[N].sshHostKey' '${key}' (N: ${s.node}'s position in homelab:nodes)`);
    }
    log(`${s.node}: SSH host key ${fingerprint(key)} recorded`);
    return key;
}

async function main(argv, env) {
    const s = settings(env);
    const log = (line) => process.stdout.write(`${line}\n`);
    if (argv[0] === "wake") return wake(s, log);
    if (argv[0] === "wait-off") return waitOff(s, log);
    if (argv[0] === "host-key") {
        // stdout is the recorded key itself; what is said about it goes to stderr
        const key = await hostKey(s, (line) => process.stderr.write(`${line}\n`), env.PULUMI_COMMAND_STDOUT);
        process.stdout.write(`${key}\n`);
        return undefined;
    }
    throw new Error(`usage: power.js wake|wait-off|host-key (got ${argv[0]})`);
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).catch((error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
    });
}

module.exports = { magicPacket, sendMagicPacket, sshAnswers, sshAnswersPatiently, wake, waitOff, settings, hostKey, fingerprint, scanHostKey };
