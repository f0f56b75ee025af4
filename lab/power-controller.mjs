#!/usr/bin/env node
// The lab's power controller: the "Wake-on-LAN NIC firmware" of every machine.
// Listens on UDP 9 and 7 (all addresses, so broadcasts on hlab-ext/hlab-int and
// packets sent from the host or from machines arrive), logs every packet to
// .lab/power.log (one JSON line each) and powers on the machine whose enp2s0
// MAC is in a magic packet by starting `lab/lab _run NODE` detached.
import dgram from "node:dgram";
import { spawn } from "node:child_process";
import { appendFileSync, openSync, readFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readStack } from "./stack.mjs";

const lab = dirname(fileURLToPath(import.meta.url));
const state = join(lab, "..", ".lab");
const PORTS = [9, 7];

// Finds 6x 0xFF followed by 16 copies of one MAC anywhere in the payload.
export function findMagicMac(buf) {
  for (let i = 0; i + 102 <= buf.length; i++) {
    let ok = true;
    for (let j = 0; j < 6 && ok; j++) ok = buf[i + j] === 0xff;
    if (!ok) continue;
    const mac = buf.subarray(i + 6, i + 12);
    for (let k = 1; k < 16 && ok; k++) ok = buf.subarray(i + 6 + 6 * k, i + 12 + 6 * k).equals(mac);
    if (ok) return [...mac].map((b) => b.toString(16).padStart(2, "0")).join(":");
  }
  return null;
}

function isOn(node) {
  try {
    const pid = Number(readFileSync(join(state, "machines", node, "nspawn.pid"), "utf8"));
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd-nspawn";
  } catch {
    return false;
  }
}

const starting = new Map(); // node -> time of last start, against repeated packets
function powerOn(node) {
  if (isOn(node)) return "already-on";
  if (Date.now() - (starting.get(node) ?? 0) < 5_000) return "already-starting";
  starting.set(node, Date.now());
  const dir = join(state, "machines", node);
  mkdirSync(dir, { recursive: true });
  const out = openSync(join(dir, "console.log"), "a");
  // `lab _run` holds a lock, so a second start of the same machine is a no-op.
  spawn(join(lab, "lab"), ["_run", node], { detached: true, stdio: ["ignore", out, out] }).unref();
  return "power-on";
}

function onPacket(port, msg, rinfo) {
  const mac = findMagicMac(msg);
  let node = null;
  let action = "ignored";
  if (mac) {
    try {
      node = readStack().nodes.find((n) => n.mac === mac)?.hostname ?? null;
    } catch (e) {
      console.error(`stack file: ${e.message}`);
    }
    action = node ? powerOn(node) : "unknown-mac";
  }
  const line = { time: new Date().toISOString(), port, from: `${rinfo.address}:${rinfo.port}`, size: msg.length, mac, node, action };
  appendFileSync(join(state, "power.log"), JSON.stringify(line) + "\n");
  console.log(`${line.time} ${line.from} -> :${port} mac=${mac} node=${node} ${action}`);
}

for (const port of PORTS) {
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
  sock.on("message", (msg, rinfo) => onPacket(port, msg, rinfo));
  sock.on("error", (e) => {
    console.error(`udp ${port}: ${e.message}`);
    process.exit(1);
  });
  sock.bind(port, "0.0.0.0", () => console.log(`${new Date().toISOString()} listening on 0.0.0.0:${port}/udp`));
}
process.on("SIGTERM", () => process.exit(0));
