// Rules on the nodes: unique names and addresses, internal addresses, the VIP, the Wake-on-LAN broadcast.
import * as ipaddr from "ipaddr.js";
import { memberProblems } from "../../components/pacemaker/render";
import { each, firstIndex, wellFormed } from "../partial";
import { ParsedConfig } from "../schema";
import { cidrOf, ConfigProblem, hostProblem, networkOf } from "./shared";

export function nodeDuplicates(config: ParsedConfig): ConfigProblem[] {
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

export function internalAddresses(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const internal = cidrOf(config.network.cidr);
    each(config.nodes, (node, index) => {
        const problem = hostProblem(node.internalAddress, internal);
        if (problem) problems.push({ key: `nodes[${index}].internalAddress`, value: node.internalAddress, message: problem });
    });
    return problems;
}

/**
 * The control planes are the VIP's corosync members, numbered by their internal addresses' host
 * parts: in a network of /16 or smaller these differ whenever the addresses do (what the rules
 * above check), in a larger one only their last 16 bits count.
 */
export function corosyncNodeIds(config: ParsedConfig): ConfigProblem[] {
    const prefixLength = cidrOf(config.network.cidr)[1];
    if (prefixLength >= 16) return [];
    const controlPlanes = config.nodes.map((node, index) => ({ node, index })).filter(({ node }) => node.role === "control-plane");
    const keyOf = (member: string) => `nodes[${controlPlanes[Number(member)].index}].internalAddress`;
    const problems = memberProblems({ prefixLength, members: controlPlanes.map(({ node }) => ({ hostname: node.hostname, address: node.internalAddress })) });
    return problems
        // the same address twice is nodeDuplicates' to report
        .filter((problem) => !/as members\[\d+\]/.test(problem.message) || firstIndex(controlPlanes, ({ node }) => node.internalAddress === problem.value) === Number(/^members\[(\d+)\]/.exec(problem.arg)?.[1]))
        .map((problem) => ({
            key: keyOf(/^members\[(\d+)\]/.exec(problem.arg)?.[1] as string),
            value: problem.value,
            message: problem.message.replace(/members\[(\d+)\]\.address/g, (_, member: string) => keyOf(member)),
        }));
}

export function vipAddress(config: ParsedConfig): ConfigProblem[] {
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
export function wakeOnLanBroadcast(config: ParsedConfig): ConfigProblem[] {
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
