// Pure renderers for the kubeadm configuration files (kubeadm.k8s.io/v1beta4).
// Secrets never appear here: the files carry placeholders that the scripts fill
// from stdin into a root-only temporary copy.
import { createHash, X509Certificate } from "crypto";
import * as YAML from "yaml";
import { VERSION_PATTERN } from "../patterns";
import { ArgProblem } from "../problems";
import { plainVersion } from "../version";

export type NodeRole = "control-plane" | "worker";

export interface ClusterNode {
    /** e.g. home-server-1 */
    hostname: string;
    /** Address on the internal network, e.g. 10.0.0.101. */
    internalAddress: string;
    role: NodeRole;
}

export interface ClusterSpec {
    /** e.g. home */
    clusterName: string;
    /** Kubernetes version, pinned, e.g. 1.34.2. */
    version: string;
    /** Pod network, the same as Calico's, e.g. 172.16.0.0/16. */
    podCidr: string;
    /** Service network, e.g. 10.96.0.0/12. */
    serviceCidr: string;
    /** Cluster DNS domain, e.g. cluster.local. */
    dnsDomain: string;
    /** The VIP Pacemaker keeps on one control plane, e.g. { address: "10.0.0.100", port: 6443 }. */
    controlPlaneEndpoint: { address: string; port: number };
    /** Every node, the first control plane being the one that runs `kubeadm init`. */
    nodes: ClusterNode[];
    /** Let control planes run workloads (no control-plane taint). */
    scheduleOnControlPlanes: boolean;
    /**
     * Run the kubelet on cgroup v1 hosts, which Kubernetes >= 1.35 refuses by default
     * (failCgroupV1: false, and kubeadm's SystemVerification preflight error ignored).
     */
    allowCgroupV1: boolean;
    /** The images are already in containerd (imported from a mirror): never pull. */
    imagesPreloaded: boolean;
    /**
     * Let kube-proxy raise the kernel's conntrack table size (its default). Nodes in containers
     * (the simulated lab) cannot: nf_conntrack_max is read-only outside the host's network namespace.
     */
    kubeProxySetsConntrackLimit: boolean;
    /**
     * Kubelet settings beyond kubeadm's defaults, e.g. for machines that share one disk (the lab):
     * { evictionHard: { "nodefs.available": "5%" }, imageGCHighThresholdPercent: 100 }.
     */
    kubelet?: KubeletSettings;
    /**
     * Graceful node shutdown: the kubelet holds a shutdown back (a logind inhibitor) while it stops
     * the node's pods, e.g. { period: "120s", criticalPodsPeriod: "30s" } (the critical pods' share of
     * the period, stopped last). Absent: the kubelet's default, no graceful shutdown.
     */
    gracefulShutdown?: GracefulShutdown;
}

export interface GracefulShutdown {
    /** e.g. 120s */
    period: string;
    /** e.g. 30s, less than period */
    criticalPodsPeriod: string;
}

/** The KubeletConfiguration fields of a graceful shutdown. */
export function gracefulShutdownFields(shutdown: GracefulShutdown | undefined): Record<string, string> {
    return shutdown ? { shutdownGracePeriod: shutdown.period, shutdownGracePeriodCriticalPods: shutdown.criticalPodsPeriod } : {};
}

export interface KubeletSettings {
    /** Replaces the kubelet's whole evictionHard map (signals left out are then not enforced). */
    evictionHard?: Record<string, string>;
    /** Disk usage at which image garbage collection starts; 100 turns it off. */
    imageGCHighThresholdPercent?: number;
    /** Disk usage image garbage collection frees down to. */
    imageGCLowThresholdPercent?: number;
}

export const TOKEN_PLACEHOLDER = "__HOMELAB_BOOTSTRAP_TOKEN__";
export const CERTIFICATE_KEY_PLACEHOLDER = "__HOMELAB_CERTIFICATE_KEY__";
export const CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";
const KUBEADM_API = "kubeadm.k8s.io/v1beta4";

export function endpointOf(spec: ClusterSpec): string {
    return `${spec.controlPlaneEndpoint.address}:${spec.controlPlaneEndpoint.port}`;
}

export function controlPlanesOf(spec: ClusterSpec): ClusterNode[] {
    return spec.nodes.filter((node) => node.role === "control-plane");
}

function documents(...docs: object[]): string {
    return docs.map((doc) => YAML.stringify(doc)).join("---\n");
}

function nodeRegistration(spec: ClusterSpec, node: ClusterNode): Record<string, unknown> {
    return {
        name: node.hostname,
        criSocket: CRI_SOCKET,
        // nodes have two NICs: without node-ip the kubelet may pick the outside one
        kubeletExtraArgs: [{ name: "node-ip", value: node.internalAddress }],
        // an empty list (not an absent one) is how kubeadm is told not to taint a control plane
        ...(node.role === "control-plane" && spec.scheduleOnControlPlanes ? { taints: [] } : {}),
        // kubeadm's system verification fails on cgroup v1 since 1.35; the kubelet is told separately
        ...(spec.allowCgroupV1 ? { ignorePreflightErrors: ["SystemVerification"] } : {}),
        // preloaded images: a missing one must fail the preflight, not reach for a registry
        ...(spec.imagesPreloaded ? { imagePullPolicy: "Never" } : {}),
    };
}

function localApiEndpoint(spec: ClusterSpec, node: ClusterNode): Record<string, unknown> {
    // the VIP is an address alias on one of the nodes (IPaddr2), so it reaches the same port
    return { advertiseAddress: node.internalAddress, bindPort: spec.controlPlaneEndpoint.port };
}

export function clusterConfiguration(spec: ClusterSpec): Record<string, unknown> {
    const controlPlanes = controlPlanesOf(spec);
    const sans = [spec.controlPlaneEndpoint.address, ...controlPlanes.map((node) => node.internalAddress), ...controlPlanes.map((node) => node.hostname)];
    return {
        apiVersion: KUBEADM_API,
        kind: "ClusterConfiguration",
        clusterName: spec.clusterName,
        kubernetesVersion: `v${plainVersion(spec.version)}`,
        controlPlaneEndpoint: endpointOf(spec),
        networking: { podSubnet: spec.podCidr, serviceSubnet: spec.serviceCidr, dnsDomain: spec.dnsDomain },
        apiServer: { certSANs: [...new Set(sans)] },
    };
}

export function kubeletConfiguration(spec: Pick<ClusterSpec, "allowCgroupV1" | "kubelet" | "gracefulShutdown">): Record<string, unknown> {
    return {
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        cgroupDriver: "systemd",
        ...(spec.allowCgroupV1 ? { failCgroupV1: false } : {}),
        ...gracefulShutdownFields(spec.gracefulShutdown),
        ...spec.kubelet,
    };
}

export function kubeProxyConfiguration(spec: Pick<ClusterSpec, "kubeProxySetsConntrackLimit">): Record<string, unknown> | undefined {
    if (spec.kubeProxySetsConntrackLimit) return undefined;
    // maxPerCore 0 leaves nf_conntrack_max as the kernel has it
    return { apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration", conntrack: { maxPerCore: 0 } };
}

/** InitConfiguration + ClusterConfiguration + KubeletConfiguration (+ KubeProxyConfiguration) for the init node. */
export function renderInitConfig(spec: ClusterSpec, node: ClusterNode): string {
    const init = {
        apiVersion: KUBEADM_API,
        kind: "InitConfiguration",
        bootstrapTokens: [{
            token: TOKEN_PLACEHOLDER,
            description: "homelab: joins of the nodes in the stack config",
            ttl: "24h0m0s",
            usages: ["signing", "authentication"],
            groups: ["system:bootstrappers:kubeadm:default-node-token"],
        }],
        certificateKey: CERTIFICATE_KEY_PLACEHOLDER,
        localAPIEndpoint: localApiEndpoint(spec, node),
        nodeRegistration: nodeRegistration(spec, node),
    };
    const kubeProxy = kubeProxyConfiguration(spec);
    return documents(init, clusterConfiguration(spec), kubeletConfiguration(spec), ...(kubeProxy ? [kubeProxy] : []));
}

/** JoinConfiguration for one node; `caCertHash` pins the cluster CA ("sha256:<hex>"). */
export function renderJoinConfig(spec: ClusterSpec, node: ClusterNode, caCertHash: string): string {
    const join: Record<string, unknown> = {
        apiVersion: KUBEADM_API,
        kind: "JoinConfiguration",
        discovery: {
            bootstrapToken: {
                apiServerEndpoint: endpointOf(spec),
                token: TOKEN_PLACEHOLDER,
                caCertHashes: [caCertHash],
                unsafeSkipCAVerification: false,
            },
        },
        nodeRegistration: nodeRegistration(spec, node),
    };
    if (node.role === "control-plane") {
        join.controlPlane = { localAPIEndpoint: localApiEndpoint(spec, node), certificateKey: CERTIFICATE_KEY_PLACEHOLDER };
    }
    return documents(join);
}

/** How many control planes etcd can work with: at least one, and not an even number (a majority must survive one lost). */
export function controlPlaneProblems(nodes: { role: NodeRole }[]): ArgProblem[] {
    const count = nodes.filter((node) => node.role === "control-plane").length;
    if (count === 0) return [{ arg: "nodes", value: `${nodes.length} nodes, 0 control planes`, message: "has no control-plane node; give at least one node role control-plane" }];
    if (count > 1 && count % 2 === 0) return [{ arg: "nodes", value: `${count} control planes`, message: "is an even number of control planes; etcd needs a majority, so use 1, 3 or 5" }];
    return [];
}

/** What kubeadm cannot work with in the spec, every problem at once. */
export function clusterSpecProblems(spec: ClusterSpec): ArgProblem[] {
    const problems = controlPlaneProblems(spec.nodes);
    const seen = new Set<string>();
    for (const node of spec.nodes) {
        if (seen.has(node.hostname)) problems.push({ arg: "nodes", value: node.hostname, message: "is listed twice; each node needs its own hostname" });
        seen.add(node.hostname);
    }
    if (!VERSION_PATTERN.test(spec.version)) problems.push({ arg: "version", value: spec.version, message: "is not a valid version; expected MAJOR.MINOR.PATCH, like 1.34.2" });
    return problems;
}

/**
 * The hash joins pin the cluster CA with ("sha256:<hex>" of its public key), from the admin
 * kubeconfig's certificate-authority-data; "" when the kubeconfig holds no CA (the join then refuses).
 */
export function caCertHashOf(kubeconfig: string): string {
    const config = YAML.parse(kubeconfig) as { clusters?: { cluster?: Record<string, string> }[] } | null;
    const caData = config?.clusters?.[0]?.cluster?.["certificate-authority-data"];
    if (!caData) return "";
    const certificate = new X509Certificate(Buffer.from(caData, "base64"));
    const publicKey = certificate.publicKey.export({ type: "spki", format: "der" });
    return `sha256:${createHash("sha256").update(publicKey).digest("hex")}`;
}
