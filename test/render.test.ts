// Golden tests of the node, network and VIP renderers, each script also checked by shellcheck.
import * as fs from "fs";
import * as path from "path";
import { renderHostsScript, renderPowerOffScript, renderPrepareScript } from "../components/baremetal/render";
import { renderApplyScript, renderNetplan, renderRemoveScript, interfaceName } from "../components/vlan/render";
import {
    HEALTH_MISSES, renderClusterScript, renderCib, renderCorosyncConf, renderHealthScript, renderMemberScript, renderRemoveMemberScript, renderRemoveVipScript, renderVipConstraints,
} from "../components/pacemaker/render";
import { shellQuote, writeFileIfChanged } from "../components/remote";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { standIns } from "./helpers/standins";
import { BONDED_VLAN_NETWORK, SEED_HOSTS, UNTAGGED_NETWORK, VIP_SETTINGS, VLAN_NETWORK } from "./helpers/fixtures";

function expectScript(name: string, text: string): void {
    expect(text.startsWith("#!/usr/bin/env bash\nset -euo pipefail\n")).toBe(true);
    expectGolden(name, text);
    expectShellcheckClean(name, text);
}

describe("BareMetalNode", () => {
    test("prepare script", () => {
        expectScript("baremetal/prepare.sh", renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd" }));
    });
    test("prepare script with an apt proxy", () => {
        const text = renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd", aptProxy: "http://apt-cache.lan:3142" });
        expect(text).toContain('Acquire::http::Proxy "http://apt-cache.lan:3142";');
        expectShellcheckClean("prepare-proxy.sh", text);
    });
    test("/etc/hosts script: one managed block with every node", () => {
        const text = renderHostsScript(SEED_HOSTS);
        expectScript("baremetal/hosts.sh", text);
        for (const host of SEED_HOSTS) expect(text).toMatch(new RegExp(`^${host.address.replace(/\./g, "\\.")} +${host.hostname}$`, "m"));
    });
    test("power-off script", () => {
        expectScript("baremetal/poweroff.sh", renderPowerOffScript("home-server-1"));
    });
});

describe("VlanInterface", () => {
    test("netplan for the seed's VLAN 2 on enp3s0", () => {
        expectGolden("vlan/vlan.yaml", renderNetplan(VLAN_NETWORK));
        expect(interfaceName(VLAN_NETWORK)).toBe("enp3s0.2");
    });
    test("netplan for an untagged link", () => {
        expectGolden("vlan/untagged.yaml", renderNetplan(UNTAGGED_NETWORK));
        expect(interfaceName(UNTAGGED_NETWORK)).toBe("enp3s0");
    });
    test("netplan for a VLAN on a bond of three ports", () => {
        expectGolden("vlan/bond-vlan.yaml", renderNetplan(BONDED_VLAN_NETWORK));
        expect(interfaceName(BONDED_VLAN_NETWORK)).toBe("bond0.2");
    });
    test("apply and remove scripts", () => {
        expectScript("vlan/apply.sh", renderApplyScript(VLAN_NETWORK, "192.168.10.101"));
        expectScript("vlan/remove.sh", renderRemoveScript(VLAN_NETWORK));
        expectShellcheckClean("remove-untagged.sh", renderRemoveScript(UNTAGGED_NETWORK));
        expectShellcheckClean("apply-bond.sh", renderApplyScript(BONDED_VLAN_NETWORK, "192.168.10.101"));
    });
});

describe("PacemakerVip", () => {
    test("corosync.conf", () => {
        expectGolden("pacemaker/corosync.conf", renderCorosyncConf(VIP_SETTINGS));
    });
    test("two members get two_node quorum", () => {
        expect(renderCorosyncConf({ clusterName: "duo", members: SEED_HOSTS.slice(0, 2) })).toContain("two_node: 1");
    });
    test("CIB with the VIP and its placement", () => {
        expectGolden("pacemaker/cib.xml", renderCib(VIP_SETTINGS));
    });
    test("without a health check the VIP only prefers the first member", () => {
        expect(renderVipConstraints({ ...VIP_SETTINGS, healthCheckUrl: undefined })).toEqual([
            // half the stickiness (60): a returning first member does not pull the VIP back
            '<rsc_location id="kube-api-vip-prefers-first" rsc="kube-api-vip" node="home-server-1" score="30"/>',
        ]);
    });
    test("scripts", () => {
        expectScript("pacemaker/member.sh", renderMemberScript(VIP_SETTINGS));
        expectScript("pacemaker/cluster.sh", renderClusterScript(VIP_SETTINGS));
        expectScript("pacemaker/remove-vip.sh", renderRemoveVipScript());
        expectScript("pacemaker/remove-member.sh", renderRemoveMemberScript());
        expectScript("pacemaker/api-health.sh", renderHealthScript("https://127.0.0.1:6443/readyz"));
        expectShellcheckClean("cluster-nohealth.sh", renderClusterScript({ ...VIP_SETTINGS, healthCheckUrl: undefined }));
    });
});

describe("the API health reporter, run by bash against stand-in curl and attrd_updater", () => {
    // curl answers from a list of outcomes, one per probe, and ends the loop when they run out
    const tools = standIns({
        curl: `n=$(cat "$STANDINS/probes" 2>/dev/null || echo 0); echo $((n + 1)) > "$STANDINS/probes"
outcome=$(sed -n "$((n + 1))p" "$STANDINS/outcomes")
[ -n "$outcome" ] || { kill "$PPID"; exit 1; }
[ "$outcome" = ok ]`,
        attrd_updater: `echo "$*" >> "$STANDINS/reported"`,
        sleep: "true",
    });
    afterAll(() => tools.cleanup());

    function reported(outcomes: string[]): string[] {
        for (const file of ["probes", "reported"]) fs.rmSync(path.join(tools.dir, file), { force: true });
        fs.writeFileSync(path.join(tools.dir, "outcomes"), outcomes.map((outcome) => `${outcome}\n`).join(""));
        tools.run(renderHealthScript("https://127.0.0.1:6443/readyz"));
        expect(fs.readFileSync(path.join(tools.dir, "probes"), "utf8").trim()).toBe(String(outcomes.length + 1));
        const file = path.join(tools.dir, "reported");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
    }

    test(`one answer makes the node healthy; only ${HEALTH_MISSES} misses in a row make it unhealthy`, () => {
        expect(HEALTH_MISSES).toBe(3);
        const healthy = "-n homelab-api-healthy -U 1 -d 2s", unhealthy = "-n homelab-api-healthy -U 0 -d 2s";
        expect(reported(["ok", "miss", "ok", "miss", "miss", "ok"])).toEqual([healthy, healthy, healthy]);
        expect(reported(["ok", "miss", "miss", "miss", "miss", "ok"])).toEqual([healthy, unhealthy, unhealthy, healthy]);
        expect(reported(["miss", "miss"])).toEqual([]);
    });
});

describe("script helpers", () => {
    test("shellQuote keeps any value one word", () => {
        expect(shellQuote("plain-1.2")).toBe("plain-1.2");
        expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    });
    test("writeFileIfChanged refuses content that would end its heredoc", () => {
        expect(() => writeFileIfChanged("/tmp/x", "a\nHOMELAB_EOF\n", "600")).toThrow("heredoc marker");
    });
});
