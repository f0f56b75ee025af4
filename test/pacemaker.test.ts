// Golden tests of PacemakerVip's renderers (test/goldens/pacemaker), each script also checked by shellcheck,
// and the API health reporter run by bash against stand-in commands.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    AUTHKEY_BYTES, AUTHKEY_PATH, HEALTH_MISSES, memberProblems, nodeIdOf, renderClusterScript, renderCib, renderCorosyncConf, renderHealthScript, renderMemberScript,
    renderPackagesScript, renderRemoveMemberScript, renderRemoveVipScript, renderVipConstraints,
} from "../components/pacemaker/render";
import { expectGolden, expectScriptGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { standIns } from "./helpers/standins";
import { SEED_HOSTS, VIP_SETTINGS } from "./helpers/fixtures";

describe("PacemakerVip", () => {
    test("corosync.conf", () => {
        expectGolden("corosync.conf", renderCorosyncConf(VIP_SETTINGS));
    });
    test("corosync.conf lists the members by node id, whatever their order in the config (another control plane listed first changes nothing on the members)", () => {
        const reordered = renderCorosyncConf({ ...VIP_SETTINGS, members: [SEED_HOSTS[1], SEED_HOSTS[2], SEED_HOSTS[0]] });
        expect(reordered).toBe(renderCorosyncConf(VIP_SETTINGS));
        expect([...reordered.matchAll(/nodeid: (\d+)/g)].map((match) => match[1])).toEqual(["101", "102", "103"]);
        const reorderedSettings = { ...VIP_SETTINGS, members: [SEED_HOSTS[1], SEED_HOSTS[2], SEED_HOSTS[0]] };
        for (const host of SEED_HOSTS) expect(renderMemberScript(reorderedSettings, host.hostname)).toBe(renderMemberScript(VIP_SETTINGS, host.hostname));
    });
    test("two members get two_node quorum", () => {
        expect(renderCorosyncConf({ clusterName: "duo", members: SEED_HOSTS.slice(0, 2), prefixLength: 24 })).toContain("two_node: 1");
    });
    test("a member's node id is its address's host part (16 bits at most), so it stays when others come or go", () => {
        expect(SEED_HOSTS.map((host) => nodeIdOf(host.address, 24))).toEqual([101, 102, 103]);
        expect(nodeIdOf("10.77.1.2", 16)).toBe(258);
        expect(nodeIdOf("10.1.255.254", 8)).toBe(65534);
        const withoutSecond = renderCorosyncConf({ ...VIP_SETTINGS, members: [SEED_HOSTS[0], SEED_HOSTS[2]] });
        expect(withoutSecond).toMatch(/ring0_addr: 10\.0\.0\.103\n\s+name: home-server-3\n\s+nodeid: 103/);
    });
    test("node ids that would be 0 or shared are problems, each named by its member", () => {
        expect(memberProblems(VIP_SETTINGS)).toEqual([]);
        const members = [{ hostname: "a", address: "10.0.0.1" }, { hostname: "b", address: "10.1.0.1" }, { hostname: "c", address: "10.2.0.0" }];
        expect(memberProblems({ members, prefixLength: 8 })).toEqual([
            { arg: "members[1].address", value: "10.1.0.1", message: "gives corosync node id 1, as members[0].address does (the last 16 bits of each); expected addresses that differ in their last 16 bits" },
            { arg: "members[2].address", value: "10.2.0.0", message: "gives corosync node id 0 (its host part in a /8, 16 bits at most), which corosync refuses; expected an address whose last 16 bits are not all zero" },
        ]);
    });
    test("CIB with the VIP and its placement", () => {
        expectGolden("cib.xml", renderCib(VIP_SETTINGS));
    });
    test("without a health check the VIP only prefers the first member", () => {
        expect(renderVipConstraints({ ...VIP_SETTINGS, healthCheckUrl: undefined })).toEqual([
            // half the stickiness (60): a returning first member does not pull the VIP back
            '<rsc_location id="kube-api-vip-prefers-first" rsc="kube-api-vip" node="home-server-1" score="30"/>',
        ]);
    });
    test("scripts", () => {
        expectScriptGolden("packages.sh", renderPackagesScript());
        expectScriptGolden("member.sh", renderMemberScript(VIP_SETTINGS, "home-server-2"));
        expectScriptGolden("cluster.sh", renderClusterScript(VIP_SETTINGS));
        expectScriptGolden("remove-vip.sh", renderRemoveVipScript());
        expectScriptGolden("remove-member.sh", renderRemoveMemberScript());
        expectScriptGolden("api-health.sh", renderHealthScript("https://127.0.0.1:6443/readyz"));
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


describe("membership changes, run by bash against stand-in corosync and pacemaker tools", () => {
    // systemctl keeps each unit's state as a file; the corosync tools answer from files the test writes
    const tools = standIns({
        systemctl: `echo "systemctl $*" >> "$STANDINS/calls"
case "$1" in
  is-active) [ -f "$STANDINS/active-$3" ] ;;
  stop) for unit in "\${@:2}"; do rm -f "$STANDINS/active-$unit"; done ;;
  start) for unit in "\${@:2}"; do touch "$STANDINS/active-$unit"; done ;;
esac`,
        corosync: "exit 0",
        "corosync-cmapctl": `case "$2" in
  runtime.votequorum.this_node_id) echo "runtime.votequorum.this_node_id (u32) = $(cat "$STANDINS/running-id")" ;;
  totem.cluster_name) echo "totem.cluster_name (str) = $(cat "$STANDINS/running-cluster")" ;;
  runtime.members) for n in 1 2 3; do echo "runtime.members.$n.status (str) = joined"; done ;;
esac`,
        "corosync-quorumtool": `echo "Quorate:          Yes"`,
        "corosync-cfgtool": `echo "corosync-cfgtool $*" >> "$STANDINS/calls"`,
        cibadmin: `if [ "$1" = --query ]; then cat "$STANDINS/cib-nodes"; else echo "cibadmin $1" >> "$STANDINS/calls"; fi`,
        crm_mon: "exit 0",
        crm_attribute: `echo "crm_attribute $*" >> "$STANDINS/calls"`,
        crm_node: `echo "crm_node $*" >> "$STANDINS/calls"`,
        crm_resource: `echo "resource kube-api-vip is running on: home-server-1"`,
        sleep: "true",
    });
    afterAll(() => tools.cleanup());
    const key = Buffer.alloc(AUTHKEY_BYTES, 7);
    const files = { [AUTHKEY_PATH]: "authkey", "/etc/corosync/corosync.conf": "corosync.conf", "/etc/systemd/system/homelab-api-health.service": "health.service", "/usr/local/libexec/homelab-api-health": "health" };

    // the script, and so the file it writes, names the stand-in directory's authkey
    const asWritten = (conf: string) => conf.split(AUTHKEY_PATH).join(path.join(tools.dir, "authkey"));
    function reset(state: { active?: string[]; runningId?: number; runningCluster?: string; key?: Buffer; conf?: string; cibNodes?: string[] }): void {
        for (const file of fs.readdirSync(tools.dir)) {
            if (/^(active-|running-|calls|authkey|corosync\.conf|cib-nodes)/.test(file)) fs.rmSync(path.join(tools.dir, file), { force: true });
        }
        for (const unit of state.active ?? []) fs.writeFileSync(path.join(tools.dir, `active-${unit}`), "");
        fs.writeFileSync(path.join(tools.dir, "running-id"), String(state.runningId ?? ""));
        fs.writeFileSync(path.join(tools.dir, "running-cluster"), state.runningCluster ?? "");
        if (state.key) fs.writeFileSync(path.join(tools.dir, "authkey"), state.key);
        if (state.conf) fs.writeFileSync(path.join(tools.dir, "corosync.conf"), asWritten(state.conf));
        fs.writeFileSync(path.join(tools.dir, "cib-nodes"), `<nodes>${(state.cibNodes ?? []).map((entry) => { const [id, name] = entry.split(":"); return `<node id="${id}" uname="${name}"/>`; }).join("")}</nodes>\n`);
    }
    function run(rendered: string, stdin = "", paths: Record<string, string> = {}): { status: number | null; output: string; calls: string[] } {
        const result = spawnSync("bash", ["-c", tools.runnable(rendered, paths)], { encoding: "utf8", input: stdin, timeout: 60000 });
        const callsFile = path.join(tools.dir, "calls");
        const calls = fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").trim().split("\n") : [];
        return { status: result.status, output: result.stdout + result.stderr, calls };
    }
    const member = (settings = VIP_SETTINGS) => run(renderMemberScript(settings, "home-server-2"), key.toString("base64"), files);
    const oldMembership = renderCorosyncConf({ ...VIP_SETTINGS, members: [...SEED_HOSTS, { hostname: "home-server-4", address: "10.0.0.104" }] });

    test("a new member starts corosync and pacemaker; nothing is stopped", () => {
        reset({});
        const { status, calls } = member();
        expect(status).toBe(0);
        expect(calls).toContain("systemctl start corosync pacemaker");
        expect(calls.filter((call) => call.startsWith("systemctl stop"))).toEqual([]);
        expect(fs.readFileSync(path.join(tools.dir, "authkey"))).toEqual(key);
    });

    test("a node Debian's package started as its own one-node cluster restarts into this one at once, without waiting to rejoin", () => {
        reset({ active: ["corosync", "pacemaker"], runningId: 1, runningCluster: "debian" });
        const { status, output, calls } = member();
        expect(status).toBe(0);
        expect(output).toContain("home-server-2 runs as node 1 of cluster debian; node 102 of home is wanted");
        expect(calls.indexOf("systemctl stop pacemaker corosync")).toBeLessThan(calls.indexOf("systemctl start corosync pacemaker"));
        expect(output).not.toMatch(/quorate membership/);
    });

    test("a new membership alone is written, not restarted: the cluster step reloads it", () => {
        reset({ active: ["corosync", "pacemaker"], runningId: 102, runningCluster: "home", key, conf: oldMembership });
        const { status, output, calls } = member();
        expect(status).toBe(0);
        expect(output).toContain("corosync.conf written: members home-server-1, home-server-2, home-server-3");
        expect(fs.readFileSync(path.join(tools.dir, "corosync.conf"), "utf8")).toBe(asWritten(renderCorosyncConf(VIP_SETTINGS)));
        expect(calls.filter((call) => call.startsWith("systemctl stop"))).toEqual([]);
        expect(output).not.toMatch(/restarting/);
    });

    test("a new node id (the old numbering by place in the list) restarts this member, which waits to be back in a quorate membership", () => {
        reset({ active: ["corosync", "pacemaker"], runningId: 2, runningCluster: "home", key, conf: oldMembership });
        const { status, output, calls } = member();
        expect(status).toBe(0);
        expect(output).toContain("home-server-2 runs as node 2 of cluster home; node 102 of home is wanted");
        expect(calls.indexOf("systemctl stop pacemaker corosync")).toBeLessThan(calls.indexOf("systemctl start corosync pacemaker"));
        expect(output).toContain("home-server-2 is back in a quorate membership");
    });

    test("a new key restarts this member; the same key and membership change nothing", () => {
        reset({ active: ["corosync", "pacemaker"], runningId: 102, runningCluster: "home", key: Buffer.alloc(AUTHKEY_BYTES, 9), conf: renderCorosyncConf(VIP_SETTINGS) });
        expect(member().calls).toContain("systemctl stop pacemaker corosync");
        reset({ active: ["corosync", "pacemaker"], runningId: 102, runningCluster: "home", key, conf: renderCorosyncConf(VIP_SETTINGS) });
        const { status, output, calls } = member();
        expect(status).toBe(0);
        expect(calls.filter((call) => call.startsWith("systemctl stop"))).toEqual([]);
        expect(output).not.toMatch(/corosync\.conf written|restarting/);
    });

    test("the cluster step puts a departing node on standby before the one reload, then purges it and stale ids from pacemaker", () => {
        reset({ active: ["corosync", "pacemaker"], cibNodes: ["1:home-server-1", "101:home-server-1", "102:home-server-2", "103:home-server-3", "104:home-server-4"] });
        const { status, output, calls } = run(renderClusterScript(VIP_SETTINGS));
        expect({ status, output }).toMatchObject({ status: 0 });
        const standby = calls.indexOf("crm_attribute --node home-server-4 --name standby --update on");
        const reload = calls.indexOf("corosync-cfgtool -R");
        expect(standby).toBeGreaterThanOrEqual(0);
        expect(reload).toBeGreaterThan(standby);
        // only the departed name goes on standby; a member under an old id is purged by that id alone
        expect(calls.filter((call) => call.includes("standby"))).toHaveLength(1);
        const purged = calls.filter((call) => call.startsWith("crm_node"));
        expect(purged).toEqual(["crm_node --force --remove 1", "crm_node --force --remove 104"]);
        expect(calls.indexOf(purged[0])).toBeGreaterThan(reload);
        expect(output).toContain("removed node home-server-4 (id 104) from pacemaker");
    });

    test("an unchanged membership is reloaded as a no-op and nothing is purged", () => {
        reset({ active: ["corosync", "pacemaker"], cibNodes: ["101:home-server-1", "102:home-server-2", "103:home-server-3"] });
        const { status, calls } = run(renderClusterScript(VIP_SETTINGS));
        expect(status).toBe(0);
        expect(calls.filter((call) => call.includes("standby") || call.startsWith("crm_node"))).toEqual([]);
    });
});
