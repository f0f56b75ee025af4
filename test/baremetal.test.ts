// Golden tests of BareMetalNode's renderers (test/goldens/baremetal), each script also checked by shellcheck.
import { renderHostsScript, renderPowerOffScript, renderPrepareScript } from "../components/baremetal/render";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { SEED_HOSTS } from "./helpers/fixtures";

function expectScript(name: string, text: string): void {
    expect(text.startsWith("#!/usr/bin/env bash\nset -euo pipefail\n")).toBe(true);
    expectGolden(name, text);
    expectShellcheckClean(name, text);
}

describe("BareMetalNode", () => {
    test("prepare script", () => {
        expectScript("prepare.sh", renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd" }));
    });
    test("prepare script with an apt proxy", () => {
        const text = renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd", aptProxy: "http://apt-cache.lan:3142" });
        expect(text).toContain('Acquire::http::Proxy "http://apt-cache.lan:3142";');
        expectShellcheckClean("prepare-proxy.sh", text);
    });
    test("/etc/hosts script: one managed block with every node", () => {
        const text = renderHostsScript(SEED_HOSTS);
        expectScript("hosts.sh", text);
        for (const host of SEED_HOSTS) expect(text).toMatch(new RegExp(`^${host.address.replace(/\./g, "\\.")} +${host.hostname}$`, "m"));
    });
    test("power-off script", () => {
        expectScript("poweroff.sh", renderPowerOffScript("home-server-1"));
    });
});

