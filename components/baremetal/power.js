#!/usr/bin/env node
// Power control from the machine running Pulumi, as the seed's wakeup.yml and
// poweroff.yml do it: Wake-on-LAN when SSH does not answer, then wait for SSH;
// on delete, wait until SSH is closed. Configured by HOMELAB_* variables.
"use strict";
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
    });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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
        resendSeconds: 30,
    };
}

async function wake(s, log) {
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

async function main(argv, env) {
    const s = settings(env);
    const log = (line) => process.stdout.write(`${line}\n`);
    if (argv[0] === "wake") return wake(s, log);
    if (argv[0] === "wait-off") return waitOff(s, log);
    throw new Error(`usage: power.js wake|wait-off (got ${argv[0]})`);
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).catch((error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
    });
}

module.exports = { magicPacket, sendMagicPacket, sshAnswers, wake, waitOff, settings };
