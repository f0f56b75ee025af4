// Golden tests of VlanInterface's renderers (test/goldens/vlan-interface), each script also checked by shellcheck;
// the tagged path itself runs on QEMU machines in test/vlan/.
import { interfaceName, renderApplyScript, renderNetplan, renderRemoveScript } from "../components/vlan/render";
import { expectGolden, expectScriptGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { BONDED_VLAN_NETWORK, UNTAGGED_NETWORK, VLAN_NETWORK } from "./helpers/fixtures";

describe("VlanInterface", () => {
    test("netplan for the seed's VLAN 2 on enp3s0", () => {
        expectGolden("vlan.yaml", renderNetplan(VLAN_NETWORK));
        expect(interfaceName(VLAN_NETWORK)).toBe("enp3s0.2");
    });
    test("netplan for an untagged link", () => {
        expectGolden("untagged.yaml", renderNetplan(UNTAGGED_NETWORK));
        expect(interfaceName(UNTAGGED_NETWORK)).toBe("enp3s0");
    });
    test("netplan for a VLAN on a bond of three ports", () => {
        expectGolden("bond-vlan.yaml", renderNetplan(BONDED_VLAN_NETWORK));
        expect(interfaceName(BONDED_VLAN_NETWORK)).toBe("bond0.2");
    });
    test("apply and remove scripts", () => {
        expectScriptGolden("apply.sh", renderApplyScript(VLAN_NETWORK, "192.168.10.101"));
        expectScriptGolden("remove.sh", renderRemoveScript(VLAN_NETWORK));
        expectShellcheckClean("remove-untagged.sh", renderRemoveScript(UNTAGGED_NETWORK));
        expectShellcheckClean("apply-bond.sh", renderApplyScript(BONDED_VLAN_NETWORK, "192.168.10.101"));
    });
});

