// The tagged 802.1Q path for real (npm run test:vlan): two QEMU machines with
// Debian's kernel run the apply script VlanInterface renders for VLAN 2 on
// enp3s0, ping each other across it, and the frames on the host bridge carry
// the tag. The lab's nspawn machines cannot do this: the host kernel has no 8021q.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { InternalNetwork, NETPLAN_FILE, renderApplyScript } from "../../components/vlan/render";
import { ROOT } from "../integration/project";

const PROOF = path.join(ROOT, "lab", "vlan-proof");
const VLAN_ID = 2;

interface Guest { name: "a" | "b"; internal: string; management: string; mac: string }
const GUESTS: Guest[] = [
    { name: "a", internal: "10.77.2.11", management: "192.168.78.11", mac: "52:54:00:78:01:0a" },
    { name: "b", internal: "10.77.2.12", management: "192.168.78.12", mac: "52:54:00:78:01:0b" },
];

function networkOf(guest: Guest): InternalNetwork {
    return { links: ["enp3s0"], vlanId: VLAN_ID, addresses: [`${guest.internal}/24`], routes: [] };
}

/** What each guest runs at boot: the rendered apply script twice, then a ping across the VLAN. */
function runScript(guest: Guest, peer: Guest): string {
    return `set -u
# the management address the apply script must leave alone (the lab's enp2s0)
ip link set enp2s0 up
ip addr add ${guest.management}/24 dev enp2s0
bash /run/proof/apply.sh; echo "PROOF: apply exit $?"
bash /run/proof/apply.sh; echo "PROOF: reapply exit $?"
echo "PROOF: netplan file mode $(stat -c %a ${NETPLAN_FILE})"
ip -d -o link show enp3s0.${VLAN_ID} | sed 's/^/PROOF: /'
ok=failed
for _ in $(seq 1 120); do
  if ping -c 1 -W 1 ${peer.internal} >/dev/null 2>&1; then ok=ok; break; fi
  sleep 1
done
echo "PROOF: ping ${peer.internal} $ok"
# the peer may still be pinging this guest
sleep 20
`;
}

function pcapLines(file: string, filter: string): string[] {
    return execFileSync("tcpdump", ["-r", file, "-n", "-e", filter], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .split("\n").filter(Boolean);
}

describe("VlanInterface on real kernels with 802.1Q (QEMU)", () => {
    let out: string;
    const consoles: Record<string, string> = {};

    beforeAll(() => {
        out = fs.mkdtempSync(path.join(os.tmpdir(), "vlan-proof-"));
        for (const [guest, peer] of [[GUESTS[0], GUESTS[1]], [GUESTS[1], GUESTS[0]]]) {
            const payload = path.join(out, guest.name);
            fs.mkdirSync(payload);
            fs.writeFileSync(path.join(payload, "apply.sh"), renderApplyScript(networkOf(guest), guest.management));
            fs.writeFileSync(path.join(payload, "run.sh"), runScript(guest, peer));
            execFileSync("tar", ["-cf", path.join(out, `${guest.name}.tar`), "-C", payload, "."]);
        }
        execFileSync(PROOF, ["run", out], { stdio: ["ignore", "inherit", "inherit"], timeout: 30 * 60 * 1000 });
        for (const guest of GUESTS) consoles[guest.name] = fs.readFileSync(path.join(out, `${guest.name}.console`), "utf8");
    });

    afterAll(() => {
        if (out && !process.env.KEEP_VLAN_PROOF) fs.rmSync(out, { recursive: true, force: true });
    });

    test.each(GUESTS.map((guest) => [guest.name, guest]))("guest %s: the rendered script configures enp3s0.2, and again is a no-op", (name, guest) => {
        const console = consoles[name];
        expect(console).toContain("PROOF: apply exit 0");
        expect(console).toContain(`enp3s0.${VLAN_ID} configured with ${guest.internal}/24`);
        expect(console).toContain("PROOF: reapply exit 0");
        expect(console).toContain(`enp3s0.${VLAN_ID} already has ${guest.internal}/24`);
        expect(console).toContain("PROOF: netplan file mode 600");
        expect(console).toMatch(new RegExp(`PROOF: \\d+: enp3s0\\.${VLAN_ID}@enp3s0: .*vlan protocol 802\\.1Q id ${VLAN_ID} `));
    });

    test.each(GUESTS.map((guest, index) => [guest.name, guest, GUESTS[1 - index]]))("guest %s reaches its peer across VLAN 2", (name, _guest, peer) => {
        expect(consoles[name]).toContain(`PROOF: ping ${peer.internal} ok`);
    });

    test("frames between the guests carry the 802.1Q tag 2 on the wire, none go untagged", () => {
        const pcap = path.join(out, "internal.pcap");
        const [a, b] = GUESTS;
        const tagged = pcapLines(pcap, `vlan ${VLAN_ID} and icmp and host ${a.internal} and host ${b.internal}`);
        const requests = (from: Guest, to: Guest) => tagged.filter((line) =>
            line.startsWith(`${from.mac} > ${to.mac}`) || line.includes(`${from.mac} > ${to.mac},`));
        expect(requests(a, b).length).toBeGreaterThan(0);
        expect(requests(b, a).length).toBeGreaterThan(0);
        for (const line of tagged) expect(line).toMatch(new RegExp(`ethertype 802\\.1Q \\(0x8100\\), length \\d+: vlan ${VLAN_ID}, p \\d, ethertype IPv4`));
        // the same ICMP without a tag would mean the VLAN was not used
        expect(pcapLines(pcap, `icmp and host ${a.internal} and host ${b.internal}`)).toEqual([]);
    });
});
