#!/usr/bin/env node
// Sends a Wake-on-LAN magic packet: node lab/wol.mjs MAC [BROADCAST] [PORT]
import dgram from "node:dgram";

const [mac, address = "192.168.77.255", port = "9"] = process.argv.slice(2);
if (!/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(mac ?? "")) {
  console.error("usage: wol.mjs MAC [BROADCAST] [PORT]");
  process.exit(2);
}
const macBytes = Buffer.from(mac.replace(/[:-]/g, ""), "hex");
const packet = Buffer.concat([Buffer.alloc(6, 0xff), ...Array(16).fill(macBytes)]);
const sock = dgram.createSocket("udp4");
sock.bind(() => {
  sock.setBroadcast(true);
  sock.send(packet, Number(port), address, (err) => {
    sock.close();
    if (err) {
      console.error(`wol: ${err.message}`);
      process.exit(1);
    }
  });
});
