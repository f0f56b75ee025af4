// Pure renderers for BareMetalNode: the OS preparation and power-off scripts.
import { APT_FUNCTION, RETRY_FUNCTION, script, shellQuote, writeFileIfChanged } from "../script";

export interface HostEntry {
    hostname: string;
    address: string;
}

export interface OsPreparation {
    hostname: string;
    containerRuntime: "containerd";
    /** HTTP proxy for apt (apt-cacher-ng), if any. */
    aptProxy?: string;
}

export const KERNEL_MODULES = ["overlay", "br_netfilter"];
export const SYSCTLS: Record<string, string> = {
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_forward": "1",
};

export function renderHostsBlock(hosts: HostEntry[]): string {
    const width = Math.max(...hosts.map((host) => host.address.length));
    return ["# BEGIN homelab nodes", ...hosts.map((host) => `${host.address.padEnd(width)} ${host.hostname}`), "# END homelab nodes"].join("\n");
}

function hostnameSection(hostname: string): string {
    const name = shellQuote(hostname);
    return `# hostname
if [ "$(cat /etc/hostname 2>/dev/null)" != ${name} ] || [ "$(hostname)" != ${name} ]; then
  echo ${name} > /etc/hostname
  hostnamectl set-hostname ${name} 2>/dev/null || hostname ${name}
  echo "hostname set to ${hostname}"
fi`;
}

/**
 * Writes one managed block with every node into /etc/hosts. Its own command, so that a node
 * added to the lab changes only this file on the others.
 */
export function renderHostsScript(hosts: HostEntry[]): string {
    return script(`# /etc/hosts: one managed block with every node
hosts_block=$(cat <<'HOMELAB_HOSTS'
${renderHostsBlock(hosts)}
HOMELAB_HOSTS
)
hosts_new=$(mktemp)
awk '/^# BEGIN homelab nodes$/{skip=1} !skip{print} /^# END homelab nodes$/{skip=0}' /etc/hosts > "$hosts_new"
printf '%s\\n' "$hosts_block" >> "$hosts_new"
if ! cmp -s "$hosts_new" /etc/hosts; then
  cat "$hosts_new" > /etc/hosts
  echo "/etc/hosts updated"
fi
rm -f "$hosts_new"`);
}

const SWAP_SECTION = `# swap off now and at boot (kubelet refuses to run with swap by default)
if [ -n "$(swapon --noheadings --show=NAME 2>/dev/null)" ]; then
  swapoff -a
  echo "swap turned off"
fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
  sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# disabled by homelab: \\1/' /etc/fstab
  echo "swap entries in /etc/fstab commented out"
fi`;

function modulesSection(): string {
    return `# kernel modules for container networking, now and at boot
CHANGED=0
${writeFileIfChanged("/etc/modules-load.d/homelab-kubernetes.conf", KERNEL_MODULES.join("\n"), "644")}
# present means loaded or built in: look for what each module provides
module_present() {
  case $1 in
    overlay) grep -qw overlay /proc/filesystems ;;
    br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ;;
    *) [ -d "/sys/module/$1" ] ;;
  esac
}
for module in ${KERNEL_MODULES.join(" ")}; do
  if ! module_present "$module"; then
    modprobe "$module" || { echo "kernel module $module is not loaded and cannot be loaded" >&2; exit 1; }
  fi
done`;
}

function sysctlSection(): string {
    const lines = Object.entries(SYSCTLS).map(([key, value]) => `${key} = ${value}`).join("\n");
    const checks = Object.entries(SYSCTLS).map(([key, value]) => `  [ "$(sysctl -n ${key})" = ${value} ] || { echo "sysctl ${key} is not ${value}" >&2; exit 1; }`).join("\n");
    return `# sysctls Kubernetes networking needs
CHANGED=0
${writeFileIfChanged("/etc/sysctl.d/99-homelab-kubernetes.conf", lines, "644")}
if [ "$CHANGED" = 1 ]${Object.entries(SYSCTLS).map(([key, value]) => ` || [ "$(sysctl -n ${key})" != ${value} ]`).join("")}; then
  sysctl -q -p /etc/sysctl.d/99-homelab-kubernetes.conf
${checks}
  echo "kubernetes sysctls applied"
fi`;
}

function aptProxySection(aptProxy: string | undefined): string {
    const path = "/etc/apt/apt.conf.d/01homelab-proxy";
    if (!aptProxy) return `# no apt proxy configured\nrm -f ${path}`;
    // inside apt's double quotes: a quote, backslash or line break would end the value early (the config's URL check refuses them too)
    if (/["\\\s]/.test(aptProxy)) throw new Error(`aptProxy ${JSON.stringify(aptProxy)} holds a quote, backslash or space, which apt's config cannot hold`);
    return `# apt proxy\nCHANGED=0\n${writeFileIfChanged(path, `Acquire::http::Proxy "${aptProxy}";`, "644")}`;
}

const CONTAINERD_SECTION = `# containerd, installed and running; its configuration is KubeadmCluster's (with the pause image its
# kubeadm expects). A package a killed run left half-configured is finished first, and only a fully
# installed one counts (Debian's, or Docker's containerd.io)
dpkg_ready
if ! packages_installed containerd && ! packages_installed containerd.io; then
  apt_get update -q
  apt_get install -y -q --no-install-recommends containerd
  echo "containerd installed"
fi
systemctl enable --now containerd >/dev/null 2>&1
systemctl is-active --quiet containerd || { echo "containerd is not running" >&2; exit 1; }`;

/** Prepares a freshly installed server for Kubernetes; every step checks first, so a re-run changes nothing. */
export function renderPrepareScript(os: OsPreparation): string {
    return script(
        RETRY_FUNCTION,
        APT_FUNCTION,
        hostnameSection(os.hostname),
        SWAP_SECTION,
        modulesSection(),
        sysctlSection(),
        aptProxySection(os.aptProxy),
        CONTAINERD_SECTION,
        `echo "${os.hostname} is prepared for Kubernetes"`,
    );
}

/** Powers the node off from a detached unit, so the SSH session that asked ends cleanly. */
export function renderPowerOffScript(hostname: string): string {
    return script(`# power off once this session has ended (the seed's poweroff.yml)
if systemctl is-system-running 2>/dev/null | grep stopping >/dev/null; then
  echo "${hostname} is already shutting down"
  exit 0
fi
# a unit name of its own each time: one left from an earlier request in this boot would refuse the name
if ! systemd-run --quiet --no-block --on-active=2 --unit="homelab-poweroff-$(date +%s%N)" shutdown -P now; then
  # no systemd to hand it to: out of this session, which ends before the 2 s are over
  setsid nohup sh -c 'sleep 2; shutdown -P now' >/dev/null 2>&1 < /dev/null &
fi
echo "${hostname} powers off in 2 s"`);
}

/**
 * What tells one machine from another under the same hostname: the sha256 of its /etc/machine-id
 * (systemd asks that the id itself not leave the machine), or "unknown" where it has none. The
 * kubelet reports the same id in its Node's status.nodeInfo.machineID, so a step on a control plane
 * can tell whether a Node was registered by the machine now at that node's address.
 */
export function renderMachineIdentityScript(machineIdFile = "/etc/machine-id"): string {
    return script(`machine_id=$(tr -d '[:space:]' < ${machineIdFile} 2>/dev/null || true)
if [ -z "$machine_id" ]; then echo unknown; exit 0; fi
printf '%s' "$machine_id" | sha256sum | cut -d' ' -f1`);
}
