#!/usr/bin/env node
// Reads the lab stack file (Pulumi.lab.yaml) and prints the machines.
//   node lab/stack.mjs          -> JSON {user, broadcast, port, nodes: [...]}
//   node lab/stack.mjs --tsv    -> "user <name>" then one line per node:
//                                  "node <hostname> <mac> <internalMac> <sshAddress> <osd devices|->"
// A node's osdDevices must be loop devices (/dev/loopN): the lab gives each one a
// disk file of its own (.lab/machines/<node>/osd-loopN.img) behind that device.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = process.env.LAB_STACK_FILE || join(root, "Pulumi.lab.yaml");

// `yaml` comes from the project's node_modules (npm install), or from the
// lab's private copy under .lab/npm (installed by `lab` when missing).
function loadYaml() {
  for (const base of [root, join(root, ".lab", "npm")]) {
    try {
      return createRequire(join(base, "package.json"))("yaml");
    } catch {
      /* try the next place */
    }
  }
  throw new Error("npm package 'yaml' not found: run `npm install` in " + root);
}

// enp3s0 gets the enp2s0 MAC with its 5th byte + 1 (52:54:00:77:00:11 -> ..:01:11).
export function internalMac(mac) {
  const b = mac.toLowerCase().split(":");
  b[4] = ((parseInt(b[4], 16) + 1) & 0xff).toString(16).padStart(2, "0");
  return b.join(":");
}

export function readStack(path = file) {
  const config = loadYaml().parse(readFileSync(path, "utf8"))?.config ?? {};
  const nodes = (config["homelab:nodes"] ?? []).map((n) => {
    if (!/^[a-z0-9][a-z0-9-]{0,11}$/.test(n.hostname ?? ""))
      throw new Error(`bad hostname ${JSON.stringify(n.hostname)} (a-z0-9-, at most 12 chars)`);
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(n.mac ?? ""))
      throw new Error(`bad mac for ${n.hostname}: ${n.mac}`);
    if (!/^192\.168\.77\.\d{1,3}$/.test(n.sshAddress ?? ""))
      throw new Error(`sshAddress of ${n.hostname} must be in 192.168.77.0/24`);
    const osdDevices = n.osdDevices ?? [];
    for (const device of osdDevices) {
      if (!/^\/dev\/loop\d+$/.test(device))
        throw new Error(`osdDevices of ${n.hostname}: ${device} is not a loop device; the lab's disks are /dev/loopN`);
    }
    return {
      hostname: n.hostname,
      mac: n.mac.toLowerCase(),
      internalMac: internalMac(n.mac),
      sshAddress: n.sshAddress,
      osdDevices,
    };
  });
  const wol = config["homelab:wakeOnLan"] ?? {};
  return {
    user: config["homelab:ssh"]?.user ?? "homeuser",
    broadcast: wol.broadcast ?? "192.168.77.255",
    port: wol.port ?? 9,
    nodes,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stack = readStack();
  if (process.argv.includes("--tsv")) {
    console.log(`user ${stack.user}`);
    for (const n of stack.nodes)
      console.log(`node ${n.hostname} ${n.mac} ${n.internalMac} ${n.sshAddress} ${n.osdDevices.join(",") || "-"}`);
  } else {
    console.log(JSON.stringify(stack, null, 2));
  }
}
