// The Wake-on-LAN helper against a real UDP listener and a TCP server on loopback:
// the "machine" opens its SSH port only after it saw a magic packet for its MAC.
import * as dgram from "dgram";
import * as net from "net";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const power = require("../components/baremetal/power.js");

const MAC = "00:1e:06:1a:1b:1c";

test("the magic packet is six 0xff bytes and the MAC sixteen times", () => {
    const packet: Buffer = power.magicPacket(MAC);
    expect(packet.length).toBe(102);
    expect(packet.subarray(0, 6).toString("hex")).toBe("ffffffffffff");
    for (let i = 0; i < 16; i++) expect(packet.subarray(6 + i * 6, 12 + i * 6).toString("hex")).toBe("001e061a1b1c");
    expect(() => power.magicPacket("00:1e:06")).toThrow("not a MAC address");
});

/** A fake machine: a UDP "NIC" that powers on an SSH banner server when it sees its magic packet. */
async function fakeMachine(mac: string) {
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    const ssh = net.createServer((socket) => socket.end("SSH-2.0-fake\r\n"));
    const sshPort = await new Promise<number>((resolve) => ssh.listen(0, "127.0.0.1", () => resolve((ssh.address() as net.AddressInfo).port)));
    ssh.close(); // powered off: the port is closed until the packet arrives
    const packets: Buffer[] = [];
    udp.on("message", (message) => {
        packets.push(message);
        if (message.equals(power.magicPacket(mac)) && !ssh.listening) ssh.listen(sshPort, "127.0.0.1");
    });
    return {
        wolPort: (udp.address() as net.AddressInfo).port,
        sshPort,
        packets,
        close: () => { udp.close(); ssh.close(); },
        powerOff: () => new Promise<void>((resolve) => ssh.close(() => resolve())),
    };
}

function settingsFor(machine: { wolPort: number; sshPort: number }) {
    return power.settings({
        HOMELAB_NODE: "home-server-1", HOMELAB_SSH_HOST: "127.0.0.1", HOMELAB_SSH_PORT: String(machine.sshPort),
        HOMELAB_MAC: MAC, HOMELAB_WOL_BROADCAST: "127.0.0.1", HOMELAB_WOL_PORT: String(machine.wolPort),
        HOMELAB_TIMEOUT_SECONDS: "10", HOMELAB_POLL_MS: "100",
    });
}

test("wake sends a magic packet to a machine that is off and returns once SSH answers", async () => {
    const machine = await fakeMachine(MAC);
    const lines: string[] = [];
    try {
        await power.wake(settingsFor(machine), (line: string) => lines.push(line));
        expect(machine.packets.length).toBeGreaterThanOrEqual(1);
        expect(await power.sshAnswers("127.0.0.1", machine.sshPort, 1000)).toBe(true);
        expect(lines[lines.length - 1]).toBe(`home-server-1: SSH answers at 127.0.0.1:${machine.sshPort}`);
    } finally {
        machine.close();
    }
});

test("wake sends nothing to a machine that already answers", async () => {
    const machine = await fakeMachine(MAC);
    try {
        await power.wake(settingsFor(machine), () => undefined);
        const sent = machine.packets.length;
        await power.wake(settingsFor(machine), () => undefined);
        expect(machine.packets.length).toBe(sent);
    } finally {
        machine.close();
    }
});

test("wake fails with a clear error when the machine never answers", async () => {
    const machine = await fakeMachine("00:00:00:00:00:01");
    try {
        const settings = { ...settingsFor(machine), timeoutSeconds: 1 };
        await expect(power.wake(settings, () => undefined)).rejects.toThrow(
            `home-server-1: no SSH answer at 127.0.0.1:${machine.sshPort} within 1 s of Wake-on-LAN to ${MAC} via 127.0.0.1:${machine.wolPort}`);
    } finally {
        machine.close();
    }
});

test("wait-off returns once SSH has closed", async () => {
    const machine = await fakeMachine(MAC);
    try {
        await power.wake(settingsFor(machine), () => undefined);
        setTimeout(() => void machine.powerOff(), 300);
        const lines: string[] = [];
        await power.waitOff(settingsFor(machine), (line: string) => lines.push(line));
        expect(lines).toEqual([`home-server-1: SSH at 127.0.0.1:${machine.sshPort} is closed; powered off`]);
    } finally {
        machine.close();
    }
});
