// Golden tests of PacemakerVip's renderers (test/goldens/pacemaker), each script also checked by shellcheck,
// and the API health reporter run by bash against stand-in commands.
import * as fs from "fs";
import * as path from "path";
import {
    HEALTH_MISSES, renderClusterScript, renderCib, renderCorosyncConf, renderHealthScript, renderMemberScript, renderRemoveMemberScript, renderRemoveVipScript, renderVipConstraints,
} from "../components/pacemaker/render";
import { expectGolden, expectScriptGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { standIns } from "./helpers/standins";
import { SEED_HOSTS, VIP_SETTINGS } from "./helpers/fixtures";

describe("PacemakerVip", () => {
    test("corosync.conf", () => {
        expectGolden("corosync.conf", renderCorosyncConf(VIP_SETTINGS));
    });
    test("two members get two_node quorum", () => {
        expect(renderCorosyncConf({ clusterName: "duo", members: SEED_HOSTS.slice(0, 2) })).toContain("two_node: 1");
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
        expectScriptGolden("member.sh", renderMemberScript(VIP_SETTINGS));
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

