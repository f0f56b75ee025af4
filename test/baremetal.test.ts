// Golden tests of BareMetalNode's renderers (test/goldens/baremetal), each script also checked by shellcheck.
import { renderHostsScript, renderMachineIdentityScript, renderPowerOffScript, renderPrepareScript } from "../components/baremetal/render";
import { expectScriptGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { SEED_HOSTS } from "./helpers/fixtures";

describe("BareMetalNode", () => {
    test("prepare script", () => {
        expectScriptGolden("prepare.sh", renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd" }));
    });
    test("prepare script with an apt proxy", () => {
        const text = renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd", aptProxy: "http://apt-cache.lan:3142" });
        expect(text).toContain('Acquire::http::Proxy "http://apt-cache.lan:3142";');
        expectShellcheckClean("prepare-proxy.sh", text);
    });
    test("/etc/hosts script: one managed block with every node", () => {
        const text = renderHostsScript(SEED_HOSTS);
        expectScriptGolden("hosts.sh", text);
        for (const host of SEED_HOSTS) expect(text).toMatch(new RegExp(`^${host.address.replace(/\./g, "\\.")} +${host.hostname}$`, "m"));
    });
    test("machine identity script", () => {
        expectScriptGolden("machine-identity.sh", renderMachineIdentityScript());
    });
    test("power-off script", () => {
        expectScriptGolden("poweroff.sh", renderPowerOffScript("home-server-1"));
    });
});

