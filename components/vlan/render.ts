// Pure renderers for VlanInterface: the netplan file and the scripts that apply and remove it.
import * as YAML from "yaml";
import { script, shellQuote, writeFileIfChanged } from "../script";

export interface InternalNetwork {
    /** Physical links: one (plain) or several (bonded), e.g. ["enp3s0"]. */
    links: string[];
    /** Bond over the links, e.g. { name: "bond0", mode: "802.3ad" }. */
    bond?: { name: string; mode: string };
    /** 802.1Q VLAN id, e.g. 2; unset for an untagged network. */
    vlanId?: number;
    /** e.g. ["10.0.0.101/24"] */
    addresses: string[];
    /** e.g. 9000 */
    mtu?: number;
    routes: { to: string; via: string }[];
}

export const NETPLAN_FILE = "/etc/netplan/60-homelab-internal.yaml";

/** Every link the file touches: the physical ones, the bond, the VLAN. */
function linksOf(network: InternalNetwork): string[] {
    return [...new Set([...network.links, ...(network.bond ? [network.bond.name] : []), interfaceName(network)])];
}

/**
 * Applies generated networkd files to our links only. `netplan apply` restarts
 * networkd for every link, and the management link's DHCP lease can then take
 * long to come back; reloading and reconfiguring just these links leaves it alone.
 */
function applyToLinks(network: InternalNetwork): string {
    return `apply_links() {
  if ! command -v networkctl >/dev/null 2>&1; then netplan apply; return; fi
  networkctl reload
${linksOf(network).map((link) => `  if ip link show dev ${shellQuote(link)} >/dev/null 2>&1; then networkctl reconfigure ${shellQuote(link)}; fi`).join("\n")}
}`;
}

/** The interface that carries the addresses: enp3s0, enp3s0.2, bond0 or bond0.2. */
export function interfaceName(network: Pick<InternalNetwork, "links" | "bond" | "vlanId">): string {
    const base = network.bond ? network.bond.name : network.links[0];
    return network.vlanId === undefined ? base : `${base}.${network.vlanId}`;
}

export function renderNetplan(network: InternalNetwork): string {
    const base = network.bond ? network.bond.name : network.links[0];
    const addressed: Record<string, unknown> = {
        addresses: network.addresses,
        ...(network.mtu ? { mtu: network.mtu } : {}),
        ...(network.routes.length ? { routes: network.routes.map((route) => ({ to: route.to, via: route.via })) } : {}),
    };
    const unaddressed = (extra: Record<string, unknown> = {}) => ({ dhcp4: false, dhcp6: false, ...extra, ...(network.mtu ? { mtu: network.mtu } : {}) });
    const ethernets: Record<string, unknown> = {};
    for (const link of network.links) ethernets[link] = unaddressed();
    const doc: Record<string, unknown> = { version: 2, renderer: "networkd", ethernets };
    if (network.bond) {
        doc.bonds = {
            [network.bond.name]: {
                interfaces: network.links,
                parameters: { mode: network.bond.mode, "mii-monitor-interval": "100" },
                ...(network.vlanId === undefined ? { dhcp4: false, dhcp6: false, ...addressed } : unaddressed()),
            },
        };
        for (const link of network.links) ethernets[link] = { dhcp4: false, dhcp6: false };
    } else if (network.vlanId === undefined) {
        ethernets[base] = { dhcp4: false, dhcp6: false, ...addressed };
    }
    if (network.vlanId !== undefined) {
        doc.vlans = { [interfaceName(network)]: { id: network.vlanId, link: base, dhcp4: false, dhcp6: false, ...addressed } };
    }
    return "# Managed by homelab (VlanInterface); changes here are overwritten by pulumi up.\n" + YAML.stringify({ network: doc });
}

function addressCheck(iface: string, addresses: string[]): string {
    return addresses.map((address) => `ip -4 -o addr show dev ${shellQuote(iface)} 2>/dev/null | grep -F ${shellQuote(` ${address} `)} >/dev/null`).join(" && ");
}

/**
 * Writes the netplan file, applies it and checks the addresses; if anything fails,
 * or the management address disappears, the previous file comes back.
 */
export function renderApplyScript(network: InternalNetwork, managementAddress: string): string {
    const iface = interfaceName(network);
    const present = addressCheck(iface, network.addresses);
    const management = `ip -4 -o addr show | grep -F ${shellQuote(` ${managementAddress}/`)} >/dev/null`;
    return script(`backup=$(mktemp)
had_file=0
if [ -f ${NETPLAN_FILE} ]; then cp -p ${NETPLAN_FILE} "$backup"; had_file=1; fi

${applyToLinks(network)}

rollback() {
  echo "$1; restoring the previous network configuration" >&2
  if [ "$had_file" = 1 ]; then install -m 600 "$backup" ${NETPLAN_FILE}; else rm -f ${NETPLAN_FILE}; fi
  { netplan generate && apply_links; } || true
  rm -f "$backup"
  exit 1
}

CHANGED=0
${writeFileIfChanged(NETPLAN_FILE, renderNetplan(network), "600")}

if [ "$CHANGED" = 0 ] && ${present}; then
  echo "${iface} already has ${network.addresses.join(", ")}"
  rm -f "$backup"
  exit 0
fi

netplan generate || rollback "netplan rejected ${NETPLAN_FILE}"
apply_links || rollback "applying ${NETPLAN_FILE} failed"

# both addresses must hold for three checks in a row: a link that is still settling can flap
stable=0
for _ in $(seq 1 45); do
  if { ${present}; } && { ${management}; }; then
    stable=$((stable + 1))
    if [ "$stable" -ge 3 ]; then break; fi
  else
    stable=0
  fi
  sleep 1
done
${present} || rollback "${iface} did not get ${network.addresses.join(", ")} within 45 s"
${management} || rollback "the management address ${managementAddress} did not come back within 45 s"
rm -f "$backup"
echo "${iface} configured with ${network.addresses.join(", ")}"`);
}

/** Removes the file and what netplan leaves behind: virtual links and addresses on physical ones. */
export function renderRemoveScript(network: InternalNetwork): string {
    const iface = interfaceName(network);
    const virtual = network.vlanId !== undefined || network.bond !== undefined;
    const virtualLinks = [network.vlanId !== undefined ? iface : undefined, network.bond?.name].filter((link): link is string => Boolean(link));
    const cleanup = virtual
        ? virtualLinks.map((link) => `if ip link show dev ${shellQuote(link)} >/dev/null 2>&1; then ip link delete dev ${shellQuote(link)}; fi`).join("\n")
        : network.addresses.map((address) => `ip -4 addr del ${shellQuote(address)} dev ${shellQuote(iface)} 2>/dev/null || true`).join("\n");
    return script(`${applyToLinks(network)}

if [ ! -f ${NETPLAN_FILE} ]; then
  echo "${NETPLAN_FILE} is already gone"
else
  rm -f ${NETPLAN_FILE}
  netplan generate
  apply_links
fi
${cleanup}
echo "internal network removed from ${iface}"`);
}
