// What every rule module uses: the problem type, the component-check adapters and the CIDR helpers.
import * as ipaddr from "ipaddr.js";
import { ArgProblem } from "../../components/problems";
import { wellFormed } from "../partial";

export interface ConfigProblem {
    /** Config key with a path, as `pulumi config set --path` takes it: nodes[1].mac */
    key: string;
    value: unknown;
    /** What is wrong and what would be valid, read after the value. */
    message: string;
}

/** A component's own check, reported under the config keys of its arguments (prefix + the argument's path). */
export function underKeys(prefix: string, problems: ArgProblem[]): ConfigProblem[] {
    return problems.map(({ arg, value, message }) => ({ key: `${prefix}${arg}`, value, message }));
}

/**
 * A component's own check run on values from several places of the config: each argument is
 * [its config key, how to read it, a value the check finds nothing wrong with]. An argument whose
 * value is malformed (the schema said so) is checked as that neutral value, so the check still
 * speaks about the others and never about it.
 */
export function componentCheck<T extends object>(check: (spec: T) => ArgProblem[], args: { [arg in keyof T]: [key: string, read: () => T[arg], neutral: T[arg]] }): ConfigProblem[] {
    const keys = new Map<string, string>();
    const spec = Object.fromEntries((Object.entries(args) as [string, [string, () => unknown, unknown]][]).map(([arg, [key, read, neutral]]) => {
        keys.set(arg, key);
        const value = wellFormed(read);
        return [arg, value === undefined ? neutral : value];
    })) as T;
    return check(spec).map(({ arg, value, message }) => ({ key: keys.get(arg) ?? arg, value, message }));
}

type Cidr = [ipaddr.IPv4, number];

/** The schema has checked the text: this only turns it into ipaddr's form. */
export function cidrOf(cidr: string): Cidr {
    const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    return [address, prefix];
}

export function networkOf([address, prefix]: Cidr): string {
    return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`)}/${prefix}`;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    const aNetwork = ipaddr.IPv4.networkAddressFromCIDR(`${a[0]}/${a[1]}`);
    const bNetwork = ipaddr.IPv4.networkAddressFromCIDR(`${b[0]}/${b[1]}`);
    return aNetwork.match(b) || bNetwork.match(a);
}

export function contains(network: Cidr, address: string): boolean {
    return ipaddr.IPv4.parse(address).match(network);
}

/** Where an address can't be a host: outside the network, or its network or broadcast address. */
export function hostProblem(address: string, network: Cidr, wanted = "an address"): string | undefined {
    const parsed = ipaddr.IPv4.parse(address);
    const cidr = networkOf(network);
    if (!parsed.match(network)) return `is outside the internal network ${cidr}; expected ${wanted} in ${cidr}`;
    if (network[1] < 31) {
        if (parsed.toString() === ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()) return `is the network address of ${cidr}; expected a host address in it`;
        if (parsed.toString() === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) return `is the broadcast address of ${cidr}; expected a host address in it`;
    }
    return undefined;
}
