// Rules that relate several config values to each other. Each returns problems
// rather than throwing, so that a user sees every mistake in one run; they also
// run when other values are malformed, and stay silent about what they cannot
// judge (see partial.ts for how).
import * as ipaddr from "ipaddr.js";
import { interfaceName } from "../components/vlan/render";
import { controlPlaneProblems } from "../components/kubeadm/config";
import { installMethodProblems } from "../components/calico/manifest";
import { calicoSpecProblems } from "../components/calico/render";
import { ManifestSource } from "../components/manifests/render";
import { ArgProblem } from "../components/problems";
import { rookSourceProblems, rookSpecProblems, RookSpec } from "../components/rook/render";
import { plainVersion } from "../components/version";
import { each, firstIndex, guarded, plain, wellFormed } from "./partial";
import { MAX_INTERFACE_NAME, ParsedConfig } from "./schema";

export interface ConfigProblem {
    /** Config key with a path, as `pulumi config set --path` takes it: nodes[1].mac */
    key: string;
    value: unknown;
    /** What is wrong and what would be valid, read after the value. */
    message: string;
}

type Rule = (config: ParsedConfig) => ConfigProblem[];

/** A component's own check, reported under the config keys of its arguments (prefix + the argument's path). */
function underKeys(prefix: string, problems: ArgProblem[]): ConfigProblem[] {
    return problems.map(({ arg, value, message }) => ({ key: `${prefix}${arg}`, value, message }));
}

/**
 * A component's own check run on values from several places of the config: each argument is
 * [its config key, how to read it, a value the check finds nothing wrong with]. An argument whose
 * value is malformed (the schema said so) is checked as that neutral value, so the check still
 * speaks about the others and never about it.
 */
function componentCheck<T extends object>(check: (spec: T) => ArgProblem[], args: { [arg in keyof T]: [key: string, read: () => T[arg], neutral: T[arg]] }): ConfigProblem[] {
    const keys = new Map<string, string>();
    const spec = Object.fromEntries((Object.entries(args) as [string, [string, () => unknown, unknown]][]).map(([arg, [key, read, neutral]]) => {
        keys.set(arg, key);
        const value = wellFormed(read);
        return [arg, value === undefined ? neutral : value];
    })) as T;
    return check(spec).map(({ arg, value, message }) => ({ key: keys.get(arg) ?? arg, value, message }));
}
type Cidr = [ipaddr.IPv4, number];

/** The kubelet's own image GC thresholds, which apply to the one of the pair a stack leaves out. */
const KUBELET_IMAGE_GC_DEFAULTS = { high: 85, low: 80 };
/** Bytes each encapsulation adds to a pod's packet (Calico's MTU table, IPv4). */
const ENCAPSULATION_OVERHEAD = { IPIP: 20, IPIPCrossSubnet: 20, VXLAN: 50, VXLANCrossSubnet: 50, None: 0 } as const;
const WIREGUARD_OVERHEAD = 60;
/** The MTU of an interface netplan leaves alone (network.mtu unset). */
const DEFAULT_MTU = 1500;

/** The schema has checked the text: this only turns it into ipaddr's form. */
function cidrOf(cidr: string): Cidr {
    const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    return [address, prefix];
}

function networkOf([address, prefix]: Cidr): string {
    return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`)}/${prefix}`;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    const aNetwork = ipaddr.IPv4.networkAddressFromCIDR(`${a[0]}/${a[1]}`);
    const bNetwork = ipaddr.IPv4.networkAddressFromCIDR(`${b[0]}/${b[1]}`);
    return aNetwork.match(b) || bNetwork.match(a);
}

function contains(network: Cidr, address: string): boolean {
    return ipaddr.IPv4.parse(address).match(network);
}

/** Where an address can't be a host: outside the network, or its network or broadcast address. */
function hostProblem(address: string, network: Cidr, wanted = "an address"): string | undefined {
    const parsed = ipaddr.IPv4.parse(address);
    const cidr = networkOf(network);
    if (!parsed.match(network)) return `is outside the internal network ${cidr}; expected ${wanted} in ${cidr}`;
    if (network[1] < 31) {
        if (parsed.toString() === ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()) return `is the network address of ${cidr}; expected a host address in it`;
        if (parsed.toString() === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) return `is the broadcast address of ${cidr}; expected a host address in it`;
    }
    return undefined;
}

// ---- nodes ---------------------------------------------------------------

function nodeDuplicates(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    for (const field of ["hostname", "mac", "sshAddress", "internalAddress"] as const) {
        const seen = new Map<string, number>();
        each(config.nodes, (node, index) => {
            const value = field === "mac" ? node[field].toLowerCase() : node[field];
            const first = seen.get(value);
            if (first === undefined) seen.set(value, index);
            else problems.push({ key: `nodes[${index}].${field}`, value: node[field], message: `is already used by nodes[${first}]; each node needs its own ${field}` });
        });
    }
    // the internal address is added next to the one SSH reaches: the same address twice is a conflict
    each(config.nodes, (node, index) => {
        const owner = firstIndex(config.nodes, (other) => other.sshAddress === node.internalAddress);
        if (owner >= 0) {
            problems.push({ key: `nodes[${index}].internalAddress`, value: node.internalAddress, message: `is nodes[${owner}].sshAddress too; the internal network needs addresses no machine has yet` });
        }
    });
    return problems;
}

function internalAddresses(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const internal = cidrOf(config.network.cidr);
    each(config.nodes, (node, index) => {
        const problem = hostProblem(node.internalAddress, internal);
        if (problem) problems.push({ key: `nodes[${index}].internalAddress`, value: node.internalAddress, message: problem });
    });
    return problems;
}

function vipAddress(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const vip = config.vip.address;
    const internal = wellFormed(() => cidrOf(config.network.cidr));
    const within = internal ? ` in ${networkOf(internal)}` : "";
    const outside = internal && hostProblem(vip, internal);
    if (outside) problems.push({ key: "vip.address", value: vip, message: outside });
    const holder = firstIndex(config.nodes, (node) => node.internalAddress === vip);
    if (holder >= 0) problems.push({ key: "vip.address", value: vip, message: `is nodes[${holder}].internalAddress; the VIP needs an address of its own${within}` });
    // outside the network, the first message says all; inside, the node that has it would fight the VIP
    const sshHolder = outside ? -1 : firstIndex(config.nodes, (node) => node.sshAddress === vip);
    if (sshHolder >= 0) problems.push({ key: "vip.address", value: vip, message: `is nodes[${sshHolder}].sshAddress; the VIP needs an address${within} that no machine holds` });
    return problems;
}

/**
 * Wake-on-LAN: the magic packet goes to wakeOnLan.broadcast from this machine, and the NICs that wake
 * are the ones the nodes' sshAddresses are on. Accepted: 255.255.255.255 (this machine's own segment),
 * or an address that is the broadcast address of one network, /8 to /30, holding every sshAddress
 * (192.168.10.255 for nodes in 192.168.10.0/24, 192.168.11.255 for a /23 from 192.168.10.0). The
 * network's real prefix is not in the config, so any such prefix is accepted: this catches a typo in
 * the network part, a node's or the network's own address, and the internal network's broadcast
 * (which does not exist yet when the machines are off), without asking for the prefix.
 */
function wakeOnLanBroadcast(config: ParsedConfig): ConfigProblem[] {
    const broadcast = config.wakeOnLan.broadcast;
    if (broadcast === "255.255.255.255") return [];
    const addresses = config.nodes.map((node) => node.sshAddress);
    const holder = addresses.indexOf(broadcast);
    const broadcastOf = (address: string, prefix: number) => ipaddr.IPv4.broadcastAddressFromCIDR(`${address}/${prefix}`).toString();
    let reached = false;
    for (let prefix = 8; prefix <= 30 && !reached; prefix++) reached = addresses.every((address) => broadcastOf(address, prefix) === broadcast);
    if (reached && holder < 0) return [];
    // the example: the nodes' /24, or the smallest network that holds them all if they span more
    let prefix = 24;
    while (prefix > 0 && !addresses.every((address) => ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parse(addresses[0]), prefix))) prefix--;
    const network = `${ipaddr.IPv4.networkAddressFromCIDR(`${addresses[0]}/${prefix}`)}/${prefix}`;
    const example = `${ipaddr.IPv4.broadcastAddressFromCIDR(network)} for ${network}`;
    const what = holder >= 0 ? `is nodes[${holder}].sshAddress, not a broadcast address` : "is not the broadcast address of a network holding every node's sshAddress, so the magic packet would not reach them";
    return [{ key: "wakeOnLan.broadcast", value: broadcast, message: `${what}; expected 255.255.255.255 or the broadcast address of the nodes' network, like ${example}` }];
}

// ---- the internal network ------------------------------------------------

function links(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const network = config.network;
    const bonded = wellFormed(() => network.bond !== undefined);
    const count = network.links.length;
    if (bonded === true && count < 2) {
        problems.push({ key: "network.links", value: plain(network.links), message: "has one link but network.bond is set; a bond needs at least two links" });
    }
    if (bonded === false && count > 1) {
        problems.push({ key: "network.links", value: plain(network.links), message: "has several links but network.bond is not set; set network.bond to bond them, or list one link" });
    }
    const seen = new Map<string, number>();
    each(network.links, (link, index) => {
        const first = seen.get(link);
        if (first === undefined) seen.set(link, index);
        else problems.push({ key: `network.links[${index}]`, value: link, message: `is already network.links[${first}]; list each link once` });
    });
    if (bonded) {
        wellFormed(() => {
            const clash = firstIndex(network.links, (link) => link === network.bond!.name);
            if (clash >= 0) problems.push({ key: "network.bond.name", value: network.bond!.name, message: `is network.links[${clash}] too; the bond needs a name of its own, like bond0` });
        });
    }
    return problems;
}

/** netplan skips a VLAN whose name Linux cannot hold, and the apply rolls back 45 s later: say so now. */
function vlanInterfaceName(config: ParsedConfig): ConfigProblem[] {
    const network = config.network;
    if (network.vlanId === undefined) return [];
    const name = interfaceName({ links: network.links, bond: network.bond, vlanId: network.vlanId });
    if (name.length <= MAX_INTERFACE_NAME) return [];
    const [key, base] = network.bond ? ["network.bond.name", network.bond.name] : ["network.links[0]", network.links[0]];
    const room = MAX_INTERFACE_NAME - `.${network.vlanId}`.length;
    return [{
        key,
        value: base,
        message: `with network.vlanId ${network.vlanId} makes the interface ${name}, ${name.length} characters, over Linux's ${MAX_INTERFACE_NAME} (netplan would skip it); expected a name of at most ${room} characters for this VLAN`,
    }];
}

function routes(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const seen = new Map<string, number>();
    each(config.network.routes, (route, index) => {
        const to = networkOf(cidrOf(route.to));
        const first = seen.get(to);
        if (first === undefined) seen.set(to, index);
        else problems.push({ key: `network.routes[${index}].to`, value: route.to, message: `is already network.routes[${first}].to; each destination takes one route` });
    });
    const internal = wellFormed(() => cidrOf(config.network.cidr));
    if (!internal) return problems;
    const cidr = networkOf(internal);
    each(config.network.routes, (route, index) => {
        const key = `network.routes[${index}].via`;
        const problem = hostProblem(route.via, internal, "the gateway's address");
        if (problem) {
            problems.push({ key, value: route.via, message: problem });
            return;
        }
        const node = firstIndex(config.nodes, (other) => other.internalAddress === route.via);
        if (node >= 0) problems.push({ key, value: route.via, message: `is nodes[${node}].internalAddress; expected the gateway's own address in ${cidr}` });
        else if (wellFormed(() => config.vip.address === route.via)) problems.push({ key, value: route.via, message: `is vip.address; expected the gateway's own address in ${cidr}` });
    });
    each(config.network.routes, (route, index) => {
        if (cidrsOverlap(cidrOf(route.to), internal)) {
            problems.push({ key: `network.routes[${index}].to`, value: route.to, message: `overlaps network.cidr (${cidr}), which the nodes reach directly; expected a destination outside it` });
        }
    });
    return problems;
}

// ---- Kubernetes ----------------------------------------------------------

function kubernetesNetworks(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const k8s = config.kubernetes;
    if (!k8s.enabled) return [];
    const named: [string, () => string][] = [["kubernetes.podCidr", () => k8s.podCidr], ["kubernetes.serviceCidr", () => k8s.serviceCidr], ["network.cidr", () => config.network.cidr]];
    for (let i = 0; i < named.length; i++) {
        for (let j = i + 1; j < named.length; j++) {
            wellFormed(() => {
                const [a, b] = [named[i][1](), named[j][1]()];
                if (cidrsOverlap(cidrOf(a), cidrOf(b))) {
                    problems.push({ key: named[i][0], value: a, message: `overlaps ${named[j][0]} (${b}); pod, service and node networks must not overlap` });
                }
            });
        }
    }
    // Addresses the machines use outside the cluster: inside a pod or service network, the cluster would
    // route them to pods. Those in network.cidr are left to the overlap message above.
    const internal = wellFormed(() => cidrOf(config.network.cidr));
    const addresses: [string, string][] = [];
    const add = (key: string, read: () => string) => wellFormed(() => addresses.push([key, read()]));
    wellFormed(() => each(config.nodes, (node, index) => add(`nodes[${index}].sshAddress`, () => node.sshAddress)));
    wellFormed(() => each(config.nodes, (node, index) => add(`nodes[${index}].internalAddress`, () => node.internalAddress)));
    add("vip.address", () => config.vip.address);
    wellFormed(() => each(config.network.routes, (route, index) => add(`network.routes[${index}].via`, () => route.via)));
    add("wakeOnLan.broadcast", () => config.wakeOnLan.broadcast);
    for (const [key, read] of [["kubernetes.podCidr", () => k8s.podCidr], ["kubernetes.serviceCidr", () => k8s.serviceCidr]] as const) {
        wellFormed(() => {
            const network = cidrOf(read());
            const covered: string[] = [];
            for (const [addressKey, value] of addresses) {
                if (contains(network, value) && !(internal && contains(internal, value))) covered.push(`${addressKey} (${value})`);
            }
            wellFormed(() => each(config.network.routes, (route, index) => {
                if (cidrsOverlap(network, cidrOf(route.to))) covered.push(`network.routes[${index}].to (${route.to})`);
            }));
            if (covered.length > 0) {
                problems.push({ key, value: read(), message: `covers ${covered.join(", ")}, which the cluster would then route to pods; expected a network that holds no machine, route or Wake-on-LAN address` });
            }
        });
    }
    return problems;
}

function controlPlanes(config: ParsedConfig): ConfigProblem[] {
    if (!config.kubernetes.enabled) return [];
    return underKeys("", controlPlaneProblems(config.nodes.map((node) => ({ role: node.role }))));
}

/** The kubelet refuses a low threshold at or above the high one, and a threshold left out takes the kubelet's default. */
function imageGC(config: ParsedConfig): ConfigProblem[] {
    const kubelet = config.kubernetes.kubelet;
    if (!kubelet) return [];
    const high = kubelet.imageGCHighThresholdPercent;
    const low = kubelet.imageGCLowThresholdPercent;
    if (high !== undefined && low !== undefined) {
        return low >= high ? [{ key: "kubernetes.kubelet.imageGCLowThresholdPercent", value: low, message: `must be below kubernetes.kubelet.imageGCHighThresholdPercent (${high})` }] : [];
    }
    if (low !== undefined && low >= KUBELET_IMAGE_GC_DEFAULTS.high) {
        return [{ key: "kubernetes.kubelet.imageGCLowThresholdPercent", value: low, message: `must be below the kubelet's default imageGCHighThresholdPercent (${KUBELET_IMAGE_GC_DEFAULTS.high}); expected 0-${KUBELET_IMAGE_GC_DEFAULTS.high - 1}, or set kubernetes.kubelet.imageGCHighThresholdPercent too` }];
    }
    if (high !== undefined && high <= KUBELET_IMAGE_GC_DEFAULTS.low) {
        return [{ key: "kubernetes.kubelet.imageGCHighThresholdPercent", value: high, message: `must be above the kubelet's default imageGCLowThresholdPercent (${KUBELET_IMAGE_GC_DEFAULTS.low}); expected ${KUBELET_IMAGE_GC_DEFAULTS.low + 1}-100, or set kubernetes.kubelet.imageGCLowThresholdPercent too` }];
    }
    return [];
}

/**
 * The offline builds write one directory per release, named after it: kubernetes-v1.37.2
 * (offline/build-kubernetes.sh), calico-v3.31.0 (offline/build-calico.sh), rook-v1.17.8
 * (offline/build-rook.sh). When a mirror URL ends in such a name, the release it holds is known
 * without asking it (a preview has no network): the version key must be that release. A mirror
 * under another name says nothing.
 */
const MIRROR_RELEASE = /\/(kubernetes|calico|rook)-v?(\d+\.\d+\.\d+)\/*$/;
const PRODUCT_NAMES = { kubernetes: "Kubernetes", calico: "Calico", rook: "Rook" } as const;

function mirrorRelease(
    product: keyof typeof PRODUCT_NAMES,
    mirrorKey: string,
    mirror: string | undefined,
    versionKey: string,
    version: () => string,
    script: string,
): ConfigProblem[] {
    const match = mirror === undefined ? null : MIRROR_RELEASE.exec(mirror);
    if (!mirror || !match) return [];
    const [, named, release] = match as unknown as [string, keyof typeof PRODUCT_NAMES, string];
    if (named !== product) {
        const wanted = plainVersion(wellFormed(version) ?? release);
        const example = mirror.replace(MIRROR_RELEASE, `/${product}-v${wanted}`);
        return [{ key: mirrorKey, value: mirror, message: `is a ${PRODUCT_NAMES[named]} mirror (${named}-v${release}); expected the ${product}-v<version> directory ${script} writes, like ${example}` }];
    }
    const wanted = version();
    if (plainVersion(wanted) === release) return [];
    return [{ key: versionKey, value: wanted, message: `is not the release ${mirrorKey} holds (${mirror}); expected ${release}, or a mirror built for ${plainVersion(wanted)}` }];
}

function kubernetesMirror(config: ParsedConfig): ConfigProblem[] {
    const k8s = config.kubernetes;
    if (!k8s.enabled) return [];
    return mirrorRelease("kubernetes", "kubernetes.mirror", k8s.mirror, "kubernetes.version", () => k8s.version, "offline/build-kubernetes.sh");
}

// ---- Rook Ceph -----------------------------------------------------------

function storageRules(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const storage = config.storage;
    if (!storage.enabled) return [];
    if (wellFormed(() => config.kubernetes.enabled) === false) {
        problems.push({ key: "storage.enabled", value: true, message: "needs kubernetes.enabled=true; Rook Ceph runs on Kubernetes" });
    }
    problems.push(...(wellFormed(() => underKeys("storage.", rookSpecProblems({ poolSize: storage.poolSize, nodes: plain(config.nodes) as RookSpec["nodes"] }))) ?? []));
    problems.push(...(wellFormed(() => underKeys("storage.", rookSourceProblems({ mirror: storage.mirror, manifests: plain(storage.manifests) as ManifestSource }))) ?? []));
    each(config.nodes, (node, index) => {
        const seen = new Map<string, number>();
        each(node.osdDevices, (device, deviceIndex) => {
            const first = seen.get(device);
            if (first === undefined) seen.set(device, deviceIndex);
            else problems.push({ key: `nodes[${index}].osdDevices[${deviceIndex}]`, value: device, message: `is already nodes[${index}].osdDevices[${first}]; list each disk once` });
        });
    });
    if (wellFormed(() => storage.allowLoopDevices) === false) {
        each(config.nodes, (node, index) => each(node.osdDevices, (device, deviceIndex) => {
            if (/^\/dev\/loop\d+$/.test(device)) {
                problems.push({ key: `nodes[${index}].osdDevices[${deviceIndex}]`, value: device, message: "is a loop device, which Rook refuses unless storage.allowLoopDevices is true (test clusters only); expected a whole disk such as /dev/sdb" });
            }
        }));
    }
    // tainted control planes run no pods, so no OSD either
    if (wellFormed(() => config.kubernetes.enabled && !config.kubernetes.scheduleOnControlPlanes)) {
        each(config.nodes, (node, index) => {
            if (node.role === "control-plane" && node.osdDevices.length > 0) {
                problems.push({ key: `nodes[${index}].osdDevices`, value: plain(node.osdDevices), message: "are on a control plane, which runs no pods with kubernetes.scheduleOnControlPlanes false, so Rook would start no OSD there; expected OSD disks on workers, or scheduleOnControlPlanes true" });
            }
        });
    }
    wellFormed(() => {
        if (storage.blockStorageClass === storage.filesystemStorageClass) {
            problems.push({ key: "storage.filesystemStorageClass", value: storage.filesystemStorageClass, message: "is storage.blockStorageClass too; each storage class needs its own name, like ceph-filesystem" });
        }
    });
    wellFormed(() => {
        const cephConfig = storage.cephConfig;
        // section by section (Object.keys reads no value): a malformed section leaves the others checked
        for (const section of Object.keys(cephConfig)) {
            wellFormed(() => {
                const options = cephConfig[section];
                for (const option of Object.keys(options)) {
                    // a mgr reads the global, mgr and mgr.<name> sections only
                    if (option.startsWith("mgr/") && !/^(global|mgr(\..+)?)$/.test(section)) {
                        wellFormed(() => problems.push({ key: `storage.cephConfig.${section}.${option}`, value: options[option], message: `is a mgr module's option in section ${section}, which no mgr reads; expected it under mgr` }));
                    }
                }
            });
        }
    });
    wellFormed(() => {
        const probes = storage.daemonProbes;
        if (probes && probes.timeoutSeconds > probes.periodSeconds) {
            problems.push({ key: "storage.daemonProbes.timeoutSeconds", value: probes.timeoutSeconds, message: `is longer than storage.daemonProbes.periodSeconds (${probes.periodSeconds}): a probe would still run when the next is due; expected at most ${probes.periodSeconds} (were the two swapped?)` });
        }
    });
    problems.push(...(wellFormed(() => mirrorRelease("rook", "storage.mirror", storage.mirror, "storage.rookVersion", () => storage.rookVersion, "offline/build-rook.sh")) ?? []));
    return problems;
}

// ---- Calico --------------------------------------------------------------

function calicoRules(config: ParsedConfig): ConfigProblem[] {
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

/** The critical pods' share of a graceful shutdown is part of the whole: the kubelet refuses it otherwise. */
function gracefulShutdown(config: ParsedConfig): ConfigProblem[] {
    const { period, criticalPodsPeriod } = config.kubernetes.gracefulShutdown;
    const seconds = (duration: string) => Number(duration.slice(0, -1)) * (duration.endsWith("m") ? 60 : 1);
    if (seconds(criticalPodsPeriod) < seconds(period)) return [];
    return [{ key: "kubernetes.gracefulShutdown.criticalPodsPeriod", value: criticalPodsPeriod, message: `is not below kubernetes.gracefulShutdown.period (${period}); expected a part of it, like 30s of 120s` }];
}

/** In the order their problems are listed. */
const RULES: Rule[] = [
    nodeDuplicates, internalAddresses, vipAddress, wakeOnLanBroadcast,
    links, vlanInterfaceName, routes,
    kubernetesNetworks, controlPlanes, imageGC, gracefulShutdown, kubernetesMirror,
    storageRules, calicoRules,
];

/**
 * Runs every rule on a config that may hold MALFORMED values (partial.ts): a rule that reads one is
 * silent, and its problems so far are dropped with it. Values in problems are plain copies.
 */
export function crossFieldProblems(config: ParsedConfig): ConfigProblem[] {
    const view = guarded(config);
    return RULES.flatMap((rule) => wellFormed(() => rule(view).map((problem) => ({ ...problem, value: plain(problem.value) }))) ?? []);
}
