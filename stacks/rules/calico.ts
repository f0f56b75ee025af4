// Rules on Calico: install method, its network spec, the MTU that fits the link, its mirror.
import { installMethodProblems } from "../../components/calico/manifest";
import { calicoSpecProblems } from "../../components/calico/render";
import { ManifestSource } from "../../components/manifests/render";
import { plain, wellFormed } from "../partial";
import { ParsedConfig } from "../schema";
import { mirrorRelease } from "./mirrors";
import { componentCheck, ConfigProblem, underKeys } from "./shared";

/** Bytes each encapsulation adds to a pod's packet (Calico's MTU table, IPv4). */
const ENCAPSULATION_OVERHEAD = { IPIP: 20, IPIPCrossSubnet: 20, VXLAN: 50, VXLANCrossSubnet: 50, None: 0 } as const;
const WIREGUARD_OVERHEAD = 60;
/** The MTU of an interface netplan leaves alone (network.mtu unset). */
const DEFAULT_MTU = 1500;

export function calicoRules(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const calico = config.calico;
    if (!calico.enabled) return [];
    if (wellFormed(() => config.kubernetes.enabled) === false) problems.push({ key: "calico.enabled", value: true, message: "needs kubernetes.enabled=true; Calico is the cluster's network" });
    problems.push(...(wellFormed(() => underKeys("calico.", installMethodProblems({
        installMethod: calico.installMethod, encapsulation: calico.encapsulation, mirror: calico.mirror, manifests: plain(calico.manifests) as ManifestSource,
    }))) ?? []));
    const spec = componentCheck(calicoSpecProblems, {
        podCidr: ["kubernetes.podCidr", () => config.kubernetes.podCidr, "0.0.0.0/0"],
        blockSize: ["calico.blockSize", () => calico.blockSize, 32],
        mtu: ["calico.mtu", () => calico.mtu, 0],
        nodeAddressCidr: ["network.cidr", () => config.network.cidr, "0.0.0.0/0"],
    });
    problems.push(...spec);
    wellFormed(() => {
        if (calico.mtu === 0 || spec.some((problem) => problem.key === "calico.mtu")) return;
        const overhead = Math.max(ENCAPSULATION_OVERHEAD[calico.encapsulation], calico.wireguard ? WIREGUARD_OVERHEAD : 0);
        const linkMtu = config.network.mtu ?? DEFAULT_MTU;
        if (calico.mtu > linkMtu - overhead) {
            const why = calico.wireguard && WIREGUARD_OVERHEAD >= overhead ? "WireGuard" : calico.encapsulation;
            problems.push({
                key: "calico.mtu",
                value: calico.mtu,
                message: `does not fit the link's MTU, ${linkMtu} (network.mtu${config.network.mtu === undefined ? " unset" : ""}), less ${why}'s ${overhead} bytes; expected 0 (Calico detects it) or at most ${linkMtu - overhead}`,
            });
        }
    });
    problems.push(...(wellFormed(() => mirrorRelease("calico", "calico.mirror", calico.mirror, "calico.version", () => calico.version, "offline/build-calico.sh")) ?? []));
    return problems;
}
