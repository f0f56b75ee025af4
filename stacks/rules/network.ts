// Rules on the internal network: links and bond, the VLAN interface's name, routes.
import { interfaceName } from "../../components/vlan/render";
import { each, firstIndex, plain, wellFormed } from "../partial";
import { MAX_INTERFACE_NAME, ParsedConfig } from "../schema";
import { cidrOf, cidrsOverlap, ConfigProblem, hostProblem, networkOf } from "./shared";

export function links(config: ParsedConfig): ConfigProblem[] {
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
export function vlanInterfaceName(config: ParsedConfig): ConfigProblem[] {
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

export function routes(config: ParsedConfig): ConfigProblem[] {
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
