// Pure renderers for CalicoNetwork: the operator bundle, the operator's custom
// resources (plain objects, created through @pulumi/kubernetes) and the wait script.
import * as YAML from "yaml";
import { KUBECTL_FUNCTION } from "../kubectl";
import { KubernetesObject, ManifestBundle, ManifestFile } from "../manifests/render";
import { CIDR_PATTERN } from "../patterns";
import { ArgProblem } from "../problems";
import { RETRY_FUNCTION, script } from "../script";
import { plainVersion } from "../version";
import { renderCalicoUpgradeCheck } from "./upgrade";

export type Encapsulation = "IPIP" | "IPIPCrossSubnet" | "VXLAN" | "VXLANCrossSubnet" | "None";

export interface CalicoSpec {
    /** Calico version, pinned, e.g. 3.30.3. */
    version: string;
    /** Pod network; must equal the cluster's podCidr, e.g. 172.16.0.0/16. */
    podCidr: string;
    /** e.g. IPIP (BGP routes through IP-in-IP tunnels); VXLAN where IPIP is blocked; None for plain BGP. */
    encapsulation: Encapsulation;
    /** Masquerade pod traffic leaving the pod network, e.g. true. */
    natOutgoing: boolean;
    /** IPAM block prefix handed to each node, e.g. 26 (64 addresses). */
    blockSize: number;
    /** Pod interface MTU, e.g. 0 to let Calico detect it. */
    mtu: number;
    /** Encrypt pod traffic between nodes with WireGuard, e.g. false. */
    wireguard: boolean;
    /** The internal network node addresses are picked from, e.g. 10.0.0.0/24. */
    nodeAddressCidr: string;
}

export interface CalicoResources {
    installation: KubernetesObject;
    apiServer: KubernetesObject;
    /** Only when WireGuard is on; applied as a patch, since the operator owns the rest of it. */
    felixConfiguration?: KubernetesObject;
}

export const OPERATOR = { namespace: "tigera-operator", deployment: "tigera-operator" };
export const OPERATOR_BUNDLE_FILES = ["tigera-operator.yaml"];

/** The version without a leading v, e.g. 3.30.3. */

export function upstreamManifestUrl(calicoVersion: string): string {
    return `https://raw.githubusercontent.com/projectcalico/calico/v${plainVersion(calicoVersion)}/manifests/tigera-operator.yaml`;
}

/** The tigera-operator bundle; a bundle of another release than the running one is checked against Calico's upgrade rule first (./upgrade). */
export function calicoBundle(calicoVersion: string, files: ManifestFile[]): ManifestBundle {
    return { id: "calico", version: plainVersion(calicoVersion), files, operator: OPERATOR, beforeChange: renderCalicoUpgradeCheck(calicoVersion) };
}

/** IPIP and unencapsulated pools route with BGP; VXLAN programs its own routes and needs none. */
export function bgpFor(encapsulation: Encapsulation): "Enabled" | "Disabled" {
    return encapsulation === "None" || encapsulation.startsWith("IPIP") ? "Enabled" : "Disabled";
}

/** Calico's MTU for pod interfaces: 0 lets Calico detect it; otherwise what Linux and Calico accept. */
export const CALICO_MTU = { min: 576, max: 9216 };

/** Every value Calico would reject or silently misuse. */
export function calicoSpecProblems(spec: Pick<CalicoSpec, "podCidr" | "blockSize" | "mtu" | "nodeAddressCidr">): ArgProblem[] {
    const problems: ArgProblem[] = [];
    if (!CIDR_PATTERN.test(spec.podCidr)) problems.push({ arg: "podCidr", value: spec.podCidr, message: "is not a valid IPv4 network; expected address/prefix, like 172.16.0.0/16" });
    else {
        const prefix = Number(spec.podCidr.split("/")[1]);
        if (spec.blockSize < prefix) problems.push({ arg: "blockSize", value: spec.blockSize, message: `is larger than the pod network /${prefix}; expected a block size from ${prefix} to 32` });
    }
    if (!CIDR_PATTERN.test(spec.nodeAddressCidr)) problems.push({ arg: "nodeAddressCidr", value: spec.nodeAddressCidr, message: "is not a valid IPv4 network; expected address/prefix, like 10.0.0.0/24" });
    if (!Number.isInteger(spec.mtu) || (spec.mtu !== 0 && (spec.mtu < CALICO_MTU.min || spec.mtu > CALICO_MTU.max))) {
        problems.push({ arg: "mtu", value: spec.mtu, message: `is not a valid Calico MTU; expected 0 (Calico detects it) or ${CALICO_MTU.min}-${CALICO_MTU.max}` });
    }
    return problems;
}

export function renderCalicoResources(spec: CalicoSpec): CalicoResources {
    const installation: KubernetesObject = {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: {
            calicoNetwork: {
                bgp: bgpFor(spec.encapsulation),
                ipPools: [{
                    name: "default-ipv4-ippool",
                    cidr: spec.podCidr,
                    encapsulation: spec.encapsulation,
                    natOutgoing: spec.natOutgoing ? "Enabled" : "Disabled",
                    blockSize: spec.blockSize,
                    nodeSelector: "all()",
                }],
                // nodes have two NICs; the first-found default would often pick the outside one
                nodeAddressAutodetectionV4: { cidrs: [spec.nodeAddressCidr] },
                ...(spec.mtu === 0 ? {} : { mtu: spec.mtu }),
            },
        },
    };
    const apiServer: KubernetesObject = { apiVersion: "operator.tigera.io/v1", kind: "APIServer", metadata: { name: "default" }, spec: {} };
    const felixConfiguration: KubernetesObject | undefined = spec.wireguard
        ? { apiVersion: "crd.projectcalico.org/v1", kind: "FelixConfiguration", metadata: { name: "default" }, spec: { wireguardEnabled: true } }
        : undefined;
    return { installation, apiServer, ...(felixConfiguration ? { felixConfiguration } : {}) };
}

/** The resources as one YAML stream, in the order they are applied. */
export function renderCalicoResourcesYaml(resources: CalicoResources): string {
    return [resources.installation, resources.apiServer, resources.felixConfiguration]
        .filter((resource): resource is KubernetesObject => resource !== undefined)
        .map((resource) => YAML.stringify(resource))
        .join("---\n");
}

/** Waits on the admin node until the operator reports Calico available and every node is Ready. */
export function renderWaitScript(spec: CalicoSpec): string {
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        `# the tigerastatus object appears only once the operator has reconciled the Installation
echo "waiting for the tigera operator to report on Calico ${plainVersion(spec.version)}"
retry 60 10 kc get tigerastatus calico >/dev/null 2>&1
retry 3 10 kc wait --for=condition=Available tigerastatus/calico --timeout=600s`,
        `# nodes turn Ready once the CNI works on them
retry 3 10 kc wait --for=condition=Ready nodes --all --timeout=300s
echo "Calico ${plainVersion(spec.version)} is available (${spec.encapsulation}${spec.wireguard ? ", WireGuard" : ""}) and every node is Ready"`,
    );
}
