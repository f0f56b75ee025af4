// The rendered files, checked by the real tools that will read them on the nodes
// (installed by scripts/setup.sh: netplan.io, corosync, pacemaker-cli-utils).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NETPLAN_FILE, renderNetplan } from "../components/vlan/render";
import { AUTHKEY_BYTES, AUTHKEY_PATH, renderCib, renderCorosyncConf } from "../components/pacemaker/render";
import { BONDED_VLAN_NETWORK, UNTAGGED_NETWORK, VIP_SETTINGS, VLAN_NETWORK } from "./helpers/fixtures";

function requireTool(tool: string): boolean {
    const found = spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
    if (!found && process.env.CI) throw new Error(`${tool} is not installed; scripts/setup.sh installs it`);
    if (!found) console.warn(`${tool} is not installed; run npm run setup`);
    return found;
}

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "homelab-tools-"));
}

/** Runs `netplan generate` on the rendered file in a scratch root and returns the systemd-networkd files it wrote. */
function netplanGenerate(yaml: string): { status: number | null; output: string; files: Record<string, string> } {
    const root = tempDir();
    const file = path.join(root, NETPLAN_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, yaml, { mode: 0o600 });
    const result = spawnSync("netplan", ["generate", "--root-dir", root], { encoding: "utf8" });
    const dir = path.join(root, "run/systemd/network");
    const files: Record<string, string> = {};
    if (fs.existsSync(dir)) for (const name of fs.readdirSync(dir)) files[name] = fs.readFileSync(path.join(dir, name), "utf8");
    fs.rmSync(root, { recursive: true, force: true });
    return { status: result.status, output: result.stdout + result.stderr, files };
}

describe("netplan generate accepts the rendered netplan", () => {
    const haveNetplan = requireTool("netplan");
    const maybe = haveNetplan ? test : test.skip;

    maybe("VLAN 2 on enp3s0 becomes a VLAN netdev with id 2 carrying the address", () => {
        const { status, output, files } = netplanGenerate(renderNetplan(VLAN_NETWORK));
        expect(output).toBe("");
        expect(status).toBe(0);
        expect(files["10-netplan-enp3s0.2.netdev"]).toMatch(/Kind=vlan[\s\S]*\[VLAN\]\nId=2/);
        expect(files["10-netplan-enp3s0.2.network"]).toContain("Address=10.0.0.101/24");
        expect(files["10-netplan-enp3s0.network"]).toContain("VLAN=enp3s0.2");
    });

    maybe("an untagged link carries the address itself", () => {
        const { status, files } = netplanGenerate(renderNetplan(UNTAGGED_NETWORK));
        expect(status).toBe(0);
        expect(files["10-netplan-enp3s0.network"]).toContain("Address=10.77.0.11/24");
    });

    maybe("a bond of three ports with a VLAN, MTU and a route", () => {
        const { status, files } = netplanGenerate(renderNetplan(BONDED_VLAN_NETWORK));
        expect(status).toBe(0);
        expect(files["10-netplan-bond0.netdev"]).toMatch(/Kind=bond[\s\S]*Mode=802.3ad/);
        for (const link of BONDED_VLAN_NETWORK.links) expect(files[`10-netplan-${link}.network`]).toContain("Bond=bond0");
        expect(files["10-netplan-bond0.2.network"]).toMatch(/Destination=10.1.0.0\/24\nGateway=10.0.0.1/);
        expect(files["10-netplan-bond0.2.netdev"]).toContain("MTUBytes=9000");
    });

    maybe("a broken file is refused, so the check can fail", () => {
        const { status } = netplanGenerate("network:\n  version: 2\n  vlans:\n    enp3s0.2:\n      id: 2\n");
        expect(status).not.toBe(0);
    });
});

describe("corosync -t accepts the rendered corosync.conf", () => {
    const maybe = requireTool("corosync") ? test : test.skip;

    function corosyncTest(conf: string, member = VIP_SETTINGS.members[0].address): { status: number | null; output: string } {
        const dir = tempDir();
        const key = path.join(dir, "authkey");
        fs.writeFileSync(key, Buffer.alloc(AUTHKEY_BYTES, 1), { mode: 0o400 });
        fs.writeFileSync(path.join(dir, "corosync.conf"), conf.replace(AUTHKEY_PATH, key));
        // corosync -t looks for the local host in the nodelist: run it where member 1's address is local, as on home-server-1.
        const result = spawnSync("unshare", ["--net", "sh", "-c", `ip link set lo up && ip addr add ${member}/32 dev lo && corosync -c "$1" -t`, "sh", path.join(dir, "corosync.conf")], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: result.status, output: result.stdout + result.stderr };
    }

    maybe("three members over knet with crypto", () => {
        const { status, output } = corosyncTest(renderCorosyncConf(VIP_SETTINGS));
        expect(output).not.toMatch(/error/i);
        expect(status).toBe(0);
    });

    maybe("node ids up to 16 bits, as a /16 gives them", () => {
        const members = [{ hostname: "a", address: "10.1.0.1" }, { hostname: "b", address: "10.1.255.254" }, { hostname: "c", address: "10.1.1.2" }];
        const conf = renderCorosyncConf({ clusterName: "wide", members, prefixLength: 16 });
        expect(conf).toMatch(/nodeid: 65534/);
        const { status, output } = corosyncTest(conf, "10.1.255.254");
        expect(output).not.toMatch(/error/i);
        expect(status).toBe(0);
    });

    maybe("a config with an unknown transport is refused, so the check can fail", () => {
        const broken = renderCorosyncConf(VIP_SETTINGS).replace("transport: knet", "transport: carrier-pigeon");
        const { status, output } = corosyncTest(broken);
        expect(status).not.toBe(0);
        expect(output).toMatch(/transport/i);
    });
});

describe("a running corosync cluster takes a new membership by one reload, as PacemakerVip's cluster step does it", () => {
    // real daemons in network namespaces: needs root and ip(8) besides corosync
    const root = process.getuid?.() === 0 && requireTool("ip");
    const maybe = root && requireTool("corosync") ? test : test.skip;
    const member = (n: number) => ({ hostname: `member-${n}`, address: `10.250.0.${100 + n}` });

    maybe("the third member leaves and a fourth joins; the first two keep running, their node ids unchanged", () => {
        const dir = tempDir();
        const conf = (members: number[]) => renderCorosyncConf({ clusterName: "reload", members: members.map(member), prefixLength: 24 });
        fs.writeFileSync(path.join(dir, "three.conf"), conf([1, 2, 3]));
        fs.writeFileSync(path.join(dir, "two.conf"), conf([1, 2]));
        fs.writeFileSync(path.join(dir, "with-fourth.conf"), conf([1, 2, 4]));
        const result = spawnSync("bash", [path.join(__dirname, "tools", "corosync-membership.sh"), dir], { encoding: "utf8", timeout: 300000 });
        fs.rmSync(dir, { recursive: true, force: true });
        const output = result.stdout + result.stderr;
        expect({ status: result.status, output }).toMatchObject({ status: 0 });
        expect(output).toMatch(/^three: member 2 is node 102; Quorate=Yes Expected votes=3 Total votes=3/m);
        expect(output).toMatch(/^two: Quorate=Yes Expected votes=2 Total votes=2/m);
        expect(output).toMatch(/^with the fourth: Quorate=Yes Expected votes=3 Total votes=3/m);
        const [before, after] = /^first two: corosync pids (\d+ \d+) before, (\d+ \d+) after$/m.exec(output)?.slice(1) ?? [];
        expect(after).toBe(before);
    });
});

describe("crm_verify accepts the rendered CIB", () => {
    const maybe = requireTool("crm_verify") ? test : test.skip;

    function crmVerify(cib: string): { status: number | null; output: string } {
        const dir = tempDir();
        fs.writeFileSync(path.join(dir, "cib.xml"), cib);
        const result = spawnSync("crm_verify", ["--xml-file", path.join(dir, "cib.xml"), "-V"], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: result.status, output: result.stdout + result.stderr };
    }

    maybe("the VIP primitive, its placement rules and the cluster properties", () => {
        const { status, output } = crmVerify(renderCib(VIP_SETTINGS));
        expect(output).toBe("");
        expect(status).toBe(0);
    });

    maybe("stonith on without fence devices is reported, as the preview warning says", () => {
        const { output } = crmVerify(renderCib({ ...VIP_SETTINGS, stonithEnabled: true }));
        expect(output).toMatch(/STONITH/i);
    });
});
