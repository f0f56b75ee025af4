// Rules that relate several config values to each other. Each returns problems
// rather than throwing, so that a user sees every mistake in one run.
import * as ipaddr from "ipaddr.js";
import { ParsedConfig } from "./schema";

export interface ConfigProblem {
    /** Config key with a path, as `pulumi config set --path` takes it: nodes[1].mac */
    key: string;
    value: unknown;
    /** What is wrong and what would be valid, read after the value. */
    message: string;
}

type Cidr = [ipaddr.IPv4, number];

function parseCidr(cidr: string): Cidr | undefined {
    try {
        const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
        return [address, prefix];
    } catch {
        return undefined;
    }
}

function networkOf([address, prefix]: Cidr): string {
    return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`)}/${prefix}`;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    const aNetwork = ipaddr.IPv4.networkAddressFromCIDR(`${a[0]}/${a[1]}`);
    const bNetwork = ipaddr.IPv4.networkAddressFromCIDR(`${b[0]}/${b[1]}`);
    return aNetwork.match(b) || bNetwork.match(a);
}

/** Where an address can't be a host: outside the network, or its network or broadcast address. */
function hostProblem(address: string, network: Cidr): string | undefined {
    const parsed = ipaddr.IPv4.parse(address);
    const cidr = networkOf(network);
    if (!parsed.match(network)) return `is outside the internal network ${cidr}; expected an address in ${cidr}`;
    if (network[1] < 31) {
        if (parsed.toString() === ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()) return `is the network address of ${cidr}; expected a host address in it`;
        if (parsed.toString() === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) return `is the broadcast address of ${cidr}; expected a host address in it`;
    }
    return undefined;
}

function duplicates(config: ParsedConfig, field: "hostname" | "mac" | "sshAddress" | "internalAddress"): ConfigProblem[] {
    const seen = new Map<string, number>();
    const problems: ConfigProblem[] = [];
    config.nodes.forEach((node, index) => {
        const value = field === "mac" ? node[field].toLowerCase() : node[field];
        const first = seen.get(value);
        if (first === undefined) seen.set(value, index);
        else problems.push({ key: `nodes[${index}].${field}`, value: node[field], message: `is already used by nodes[${first}]; each node needs its own ${field}` });
    });
    return problems;
}

export function crossFieldProblems(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    for (const field of ["hostname", "mac", "sshAddress", "internalAddress"] as const) problems.push(...duplicates(config, field));

    const internal = parseCidr(config.network.cidr);
    if (!internal) {
        problems.push({ key: "network.cidr", value: config.network.cidr, message: "is not a valid IPv4 network; expected address/prefix, like 10.0.0.0/24" });
    } else {
        config.nodes.forEach((node, index) => {
            const problem = hostProblem(node.internalAddress, internal);
            if (problem) problems.push({ key: `nodes[${index}].internalAddress`, value: node.internalAddress, message: problem });
        });
        const vipProblem = hostProblem(config.vip.address, internal);
        if (vipProblem) problems.push({ key: "vip.address", value: config.vip.address, message: vipProblem });
        const holder = config.nodes.findIndex((node) => node.internalAddress === config.vip.address);
        if (holder >= 0) problems.push({ key: "vip.address", value: config.vip.address, message: `is nodes[${holder}].internalAddress; the VIP needs an address of its own in ${networkOf(internal)}` });
    }

    if (config.network.bond && config.network.links.length < 2) {
        problems.push({ key: "network.links", value: config.network.links, message: "has one link but network.bond is set; a bond needs at least two links" });
    }
    if (!config.network.bond && config.network.links.length > 1) {
        problems.push({ key: "network.links", value: config.network.links, message: "has several links but network.bond is not set; set network.bond to bond them, or list one link" });
    }

    const k8s = config.kubernetes;
    if (k8s.enabled) {
        const named: [string, string][] = [["kubernetes.podCidr", k8s.podCidr], ["kubernetes.serviceCidr", k8s.serviceCidr], ["network.cidr", config.network.cidr]];
        for (let i = 0; i < named.length; i++) {
            for (let j = i + 1; j < named.length; j++) {
                const a = parseCidr(named[i][1]);
                const b = parseCidr(named[j][1]);
                if (a && b && cidrsOverlap(a, b)) {
                    problems.push({ key: named[i][0], value: named[i][1], message: `overlaps ${named[j][0]} (${named[j][1]}); pod, service and node networks must not overlap` });
                }
            }
        }
        const controlPlanes = config.nodes.filter((node) => node.role === "control-plane").length;
        if (controlPlanes === 0) {
            problems.push({ key: "nodes", value: `${config.nodes.length} nodes, 0 control planes`, message: "has no control-plane node; give at least one node role control-plane" });
        } else if (controlPlanes > 1 && controlPlanes % 2 === 0) {
            problems.push({ key: "nodes", value: `${controlPlanes} control planes`, message: "is an even number of control planes; etcd needs a majority, so use 1, 3 or 5" });
        }
    }

    const gc = k8s.kubelet;
    if (gc?.imageGCHighThresholdPercent !== undefined && gc.imageGCLowThresholdPercent !== undefined && gc.imageGCLowThresholdPercent >= gc.imageGCHighThresholdPercent) {
        problems.push({ key: "kubernetes.kubelet.imageGCLowThresholdPercent", value: gc.imageGCLowThresholdPercent, message: `must be below kubernetes.kubelet.imageGCHighThresholdPercent (${gc.imageGCHighThresholdPercent})` });
    }

    if (config.storage.enabled) {
        if (!k8s.enabled) {
            problems.push({ key: "storage.enabled", value: true, message: "needs kubernetes.enabled=true; Rook Ceph runs on Kubernetes" });
        }
        const osdHosts = config.nodes.filter((node) => node.osdDevices.length > 0).length;
        if (osdHosts < config.storage.poolSize) {
            problems.push({ key: "storage.poolSize", value: config.storage.poolSize, message: `needs at least ${config.storage.poolSize} nodes with osdDevices, but ${osdHosts} have any; add osdDevices to more nodes or lower storage.poolSize` });
        }
        const manifests = config.storage.manifests;
        if (manifests.url && manifests.path) problems.push({ key: "storage.manifests", value: manifests, message: "sets both url and path; choose one" });
        if (config.storage.mirror && (manifests.url || manifests.path)) {
            problems.push({ key: "storage.manifests", value: manifests, message: "is set as well as storage.mirror, which serves manifests/crds.yaml, common.yaml and operator.yaml; keep one of them" });
        }
        if (!config.storage.allowLoopDevices) {
            config.nodes.forEach((node, index) => node.osdDevices.forEach((device, deviceIndex) => {
                if (/^\/dev\/loop\d+$/.test(device)) {
                    problems.push({ key: `nodes[${index}].osdDevices[${deviceIndex}]`, value: device, message: "is a loop device, which Rook refuses unless storage.allowLoopDevices is true (test clusters only); expected a whole disk such as /dev/sdb" });
                }
            }));
        }
    }
    if (config.calico.enabled) {
        if (!k8s.enabled) problems.push({ key: "calico.enabled", value: true, message: "needs kubernetes.enabled=true; Calico is the cluster's network" });
        if (config.calico.manifests.url && config.calico.manifests.path) problems.push({ key: "calico.manifests", value: config.calico.manifests, message: "sets both url and path; choose one" });
        problems.push(...calicoInstallProblems(config.calico));
        const pod = parseCidr(k8s.podCidr);
        if (pod && config.calico.blockSize < pod[1]) {
            problems.push({ key: "calico.blockSize", value: config.calico.blockSize, message: `is larger than the pod network /${pod[1]}; expected a block size from ${pod[1]} to 32` });
        }
    }
    return problems;
}

/** What calico.installMethod allows: the manifest method runs VXLAN without BGP, and only it reads calico.mirror. */
function calicoInstallProblems(calico: ParsedConfig["calico"]): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (calico.installMethod === "manifest") {
        if (calico.encapsulation !== "VXLAN" && calico.encapsulation !== "VXLANCrossSubnet") {
            problems.push({ key: "calico.encapsulation", value: calico.encapsulation, message: "is not available with calico.installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)" });
        }
        if (calico.mirror && (calico.manifests.url || calico.manifests.path)) {
            problems.push({ key: "calico.manifests", value: calico.manifests, message: "is set as well as calico.mirror, which serves manifests/calico-vxlan.yaml; keep one of them" });
        }
    } else if (calico.mirror) {
        problems.push({ key: "calico.mirror", value: calico.mirror, message: "needs calico.installMethod manifest; the tigera operator's images are not on the mirror (for the operator's bundle alone, use calico.manifests)" });
    }
    return problems;
}
