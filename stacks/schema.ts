// The shape of the stack config: types, defaults and the per-field rules a
// single value can break. Rules that relate several values live in rules/.
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { CIDR_PATTERN, IPV4_PATTERN, VERSION_PATTERN } from "../components/patterns";

export const MAC_PATTERN = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
// RFC 1123 label: what kubeadm, corosync and /etc/hosts all accept.
export const HOSTNAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export { CIDR_PATTERN, IPV4_PATTERN, VERSION_PATTERN } from "../components/patterns";
export const DURATION_PATTERN = /^\d+(ms|s|m|h)$/;
export const INTERFACE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
/** RFC 1123 subdomain (what kubeadm checks dnsDomain against): labels joined by '.', at most 253 characters. */
export const DNS_DOMAIN_PATTERN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/**
 * What an http(s) URL in this config may hold: scheme, optional user:password@, host, optional port and a
 * path of characters that mean nothing to bash, to apt's config syntax or to curl's URL globbing. These URLs
 * reach scripts on the nodes (always quoted, but a second line of defence costs nothing) and apt's
 * `Acquire::http::Proxy "...";`. No query or fragment: a mirror's files are appended to its path.
 * Anything else can be percent-encoded (%20 for a space).
 */
export const URL_PATTERN = /^https?:\/\/([A-Za-z0-9._~%+-]+(:[A-Za-z0-9._~%+-]*)?@)?[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%+,=:@\/-]*)?$/;
/** Linux's limit on interface names (IFNAMSIZ less the terminating NUL). */
export const MAX_INTERFACE_NAME = 15;

const VLAN_MESSAGE = "is not a valid VLAN id; expected 1-4094, or leave it unset for an untagged network";
const hostname = z.string().regex(HOSTNAME_PATTERN, "is not a valid hostname; expected lowercase letters, digits and '-', 1-63 characters, like home-server-1");
const mac = z.string()
    .regex(MAC_PATTERN, { message: "is not a valid MAC address; expected six hex pairs separated by ':', like 00:1e:06:1a:1b:1c", abort: true })
    // the magic packet names the NIC that wakes: a group (multicast) or all-zero address is no NIC's
    .refine((value) => (parseInt(value.slice(0, 2), 16) & 1) === 0 && !/^(00:){5}00$/.test(value),
        "is not a network card's own address (it is multicast, broadcast or all zeros); expected the MAC of the NIC that wakes, as `ip link` shows it");
const ipv4 = z.string().regex(IPV4_PATTERN, "is not a valid IPv4 address; expected four numbers 0-255, like 10.0.0.101");
const cidr = z.string().regex(CIDR_PATTERN, { message: "is not a valid IPv4 network; expected address/prefix, like 10.0.0.0/24", abort: true });
/** A network written as its network address: the kernel refuses a route to 10.1.0.5/24, and Calico stores a pool as its network. */
const networkAddress = cidr.superRefine((value, ctx) => {
    const network = `${ipaddr.IPv4.networkAddressFromCIDR(value)}/${value.split("/")[1]}`;
    if (network !== value) ctx.addIssue({ code: "custom", input: value, message: `has host bits set; expected the network address, ${network}` });
});
/** A prefix length from `min` to `max`, checked once the network is well-formed. */
function prefixBetween(schema: z.ZodString, min: number, max: number, why: string, example: string) {
    return schema.refine((value) => { const prefix = Number(value.split("/")[1]); return prefix >= min && prefix <= max; },
        { message: `has a prefix length Kubernetes refuses; expected /${min} to /${max} (${why}), like ${example}`, when: (payload) => payload.issues.length === 0 });
}
const version = z.string().regex(VERSION_PATTERN, "is not a valid version; expected MAJOR.MINOR.PATCH, like 1.34.2");
const duration = z.string().regex(DURATION_PATTERN, { message: "is not a valid duration; expected a number and a unit (ms, s, m, h), like 5s", abort: true });
/** A duration as the kubelet's configuration takes it (Go's), in whole seconds or minutes, like 120s or 2m. */
const goDuration = z.string().regex(/^\d+(s|m)$/, "is not a duration the kubelet takes here; expected whole seconds or minutes, like 120s or 2m");
/** A duration Pacemaker must not read as 0 (which it takes as "no recurring monitor" or "use the default"). */
const positiveDuration = (example: string) => duration.refine((value) => !/^0+(ms|s|m|h)$/.test(value), `is zero; expected a positive duration, like ${example}`);
const interfaceName = z.string().regex(INTERFACE_PATTERN, "is not a valid interface name; expected up to 15 letters, digits, '.', '-' or '_', like enp3s0");
const absolutePath = z.string().regex(/^\/[^\0]*$/, { message: "is not an absolute path; expected a path starting with '/', like /dev/sda", abort: true });
const devicePath = absolutePath.regex(/^\/dev\/[A-Za-z0-9._:+@\/-]+$/, "is not a disk under /dev; expected a whole disk like /dev/sdb or /dev/disk/by-id/ata-...");
const port = z.number().int().min(1, "is not a valid port; expected 1-65535").max(65535, "is not a valid port; expected 1-65535");
const positiveInt = z.number().int("must be a whole number of at least 1").min(1, "must be a whole number of at least 1");
const url = z.string()
    .regex(/^https?:\/\/[^/\s]/, { message: "is not an http(s) URL; expected something like http://apt-cache.lan:3142", abort: true })
    .regex(URL_PATTERN, "holds characters that shell scripts or apt's config would read specially; expected http(s)://host[:port]/path with only letters, digits and - . _ ~ % + , = : @ / (no spaces, quotes, backticks, $ ; & | < > \\ ( ), no ?query or #fragment; percent-encode anything else), like http://apt-cache.lan:3142");

/** Where a bundle of upstream manifests comes from: the pinned upstream URL, another URL (a mirror), or a file next to the program (air-gapped). */
const manifestSource = z.strictObject({
    url: url.optional(),
    path: z.string().min(1).optional(),
});

export const nodeSchema = z.strictObject({
    hostname,
    mac,
    sshAddress: ipv4,
    internalAddress: ipv4,
    role: z.enum(["control-plane", "worker"], "is not a valid role; expected control-plane or worker").default("control-plane"),
    osdDevices: z.array(devicePath).default([]),
    /** Pinned SSH host key ("ssh-ed25519 AAAA..."); when set, the first connection checks it. */
    sshHostKey: z.string().regex(/^(ssh-|ecdsa-)\S+ \S+/, "is not an SSH public host key; expected a line like 'ssh-ed25519 AAAAC3...'").optional(),
});

export const configSchema = z.strictObject({
    /** The lab's wanted power state: on (every machine running, the cluster and Ceph healthy) or off (shut down in a safe order). */
    power: z.enum(["on", "off"], "is not a power state; expected on or off").default("on"),
    /** How `power: off` shuts the lab down. */
    shutdown: z.strictObject({
        /** Shut down even when Ceph is not HEALTH_OK (its health detail is printed); off, such a shutdown is refused. */
        ignoreCephHealth: z.boolean().default(false),
    }).prefault({}),
    clusterName: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "is not a valid cluster name; expected lowercase letters, digits and '-', starting with a letter, at most 31 characters").default("homelab"),
    nodes: z.array(nodeSchema).min(1, "must list at least one node"),
    ssh: z.strictObject({
        user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "is not a valid user name; expected a Linux login like homeuser").default("homeuser"),
        port: port.default(22),
        /** A private key file on this machine (e.g. ~/.ssh/id_ed25519), instead of the secret homelab:sshPrivateKey; its content is kept as a secret. */
        privateKeyFile: z.string().min(1).optional(),
        /** How long one command may wait for SSH to answer before the step fails. */
        connectTimeoutSeconds: positiveInt.default(20),
    }).prefault({}),
    wakeOnLan: z.strictObject({
        broadcast: ipv4,
        port: port.default(9),
        /** How long to wait for SSH after the magic packet. */
        timeoutSeconds: positiveInt.default(300),
    }),
    os: z.strictObject({
        containerRuntime: z.enum(["containerd"], "is not a supported container runtime; expected containerd").default("containerd"),
        /** An HTTP proxy for apt on the nodes (apt-cacher-ng), or none. */
        aptProxy: url.optional(),
    }).prefault({}),
    /** etcd snapshots with the cluster's PKI, kept on the machine running Pulumi (with Kubernetes on). */
    backups: z.strictObject({
        enabled: z.boolean().default(true),
        /** Where on this machine: absolute, ~/ for home, or relative to the project; one folder per cluster under it. */
        directory: z.string().min(1, "is empty; expected a folder on this machine, like ~/.local/share/homelab/backups").default("~/.local/share/homelab/backups"),
        /** An up takes a snapshot once the newest kept is this old (and before a planned power-off). */
        everyHours: z.number("is not a number; expected a whole number of hours from 1 to 8760, like 24").int("is not a whole number of hours; expected 1-8760, like 24")
            .min(1, "is less than an hour; expected 1-8760, like 24").max(8760, "is more than a year; expected 1-8760, like 24").default(24),
        /** How many snapshots of the cluster to keep there; the oldest beyond are removed once a new one is checked. */
        keep: z.number("is not a number; expected a whole number from 1 to 1000, like 14").int("is not a whole number; expected 1-1000, like 14")
            .min(1, "keeps no snapshot; expected 1-1000, like 14").max(1000, "is more than 1000; expected 1-1000, like 14").default(14),
        /**
         * A snapshot to restore on every control plane: a file name in this cluster's snapshot folder, or a path.
         * Restored once per snapshot; leaving the key set restores nothing again.
         */
        restoreFrom: z.string("is not a file name; expected one of this cluster's snapshots, like homelab-etcd-20261205T235200Z.tar.gz")
            .min(1, "is empty; expected one of this cluster's snapshots, like homelab-etcd-20261205T235200Z.tar.gz").optional(),
    }).prefault({}),
    network: z.strictObject({
        /** One link (a plain interface) or several (bonded together). */
        links: z.array(interfaceName).min(1, "must list at least one link"),
        bond: z.strictObject({
            name: interfaceName.default("bond0"),
            mode: z.enum(["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"],
                "is not a bond mode; expected one of balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb").default("802.3ad"),
        }).optional(),
        /** 802.1Q VLAN id; leave unset for an untagged network. */
        vlanId: z.number().int().min(1, VLAN_MESSAGE).max(4094, VLAN_MESSAGE).optional(),
        cidr,
        mtu: z.number().int().min(576, "is not a valid MTU; expected 576-9216").max(9216, "is not a valid MTU; expected 576-9216").optional(),
        routes: z.array(z.strictObject({ to: networkAddress, via: ipv4 })).default([]),
    }),
    vip: z.strictObject({
        address: ipv4,
        /** Turn fencing off only on purpose: a home lab without fence devices must say so. */
        stonithEnabled: z.boolean().default(true),
        resourceStickiness: z.number().int().min(0, "must be 0 or more").default(60),
        monitorInterval: positiveDuration("5s").default("5s"),
        migrationThreshold: positiveInt.default(2),
        failureTimeout: duration.default("60s"),
        /** How long the IPaddr2 agent may take to start, stop or check the VIP before Pacemaker counts a failure (Pacemaker's default: 20s). */
        operationTimeout: positiveDuration("20s").default("20s"),
    }),
    kubernetes: z.strictObject({
        enabled: z.boolean().default(true),
        version: version.default("1.34.2"),
        /** kubeadm gives each node a /24 of it (the controller manager's node-cidr-mask-size) and allows at most 2^16 of them. */
        podCidr: prefixBetween(networkAddress, 8, 24, "kubeadm gives each node a /24 of it, and at most 65536 of them", "172.16.0.0/16").default("172.16.0.0/16"),
        /** The API server takes at most a /12; kubeadm puts the cluster DNS at its 10th address. */
        serviceCidr: prefixBetween(networkAddress, 12, 28, "the API server takes at most a /12; kubeadm puts the cluster DNS at its 10th address", "10.96.0.0/12").default("10.96.0.0/12"),
        dnsDomain: z.string().regex(DNS_DOMAIN_PATTERN, "is not a valid DNS domain; expected labels of lowercase letters, digits and '-' joined by single dots, like cluster.local").default("cluster.local"),
        /** Let control-plane nodes run workloads: a three-node lab has no other nodes. */
        scheduleOnControlPlanes: z.boolean().default(true),
        /** Air-gapped: binaries and image archives from this file server (offline/build-kubernetes.sh layout). */
        mirror: url.optional(),
        /** Run on cgroup v1 hosts, which the kubelet refuses by default since 1.35. */
        allowCgroupV1: z.boolean().default(false),
        /** Let kube-proxy raise nf_conntrack_max; false for nodes in containers, where it is read-only. */
        kubeProxySetsConntrackLimit: z.boolean().default(true),
        /** Kubelet settings beyond kubeadm's defaults (only these keys). */
        kubelet: z.strictObject({
            evictionHard: z.record(
                z.string().regex(/^(memory\.available|nodefs\.available|nodefs\.inodesFree|imagefs\.available|imagefs\.inodesFree|pid\.available)$/,
                    "is not a kubelet eviction signal; expected memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree or pid.available"),
                z.string().regex(/^(\d+(\.\d+)?%|\d+(Ki|Mi|Gi)?)$/, { message: "is not an eviction threshold; expected a percentage like 5% or a quantity like 100Mi", abort: true })
                    .refine((value) => !value.endsWith("%") || parseFloat(value) <= 100, "is more than 100%, which the kubelet refuses; expected a percentage from 0% to 100%, like 5%"),
            ).optional(),
            imageGCHighThresholdPercent: z.number().int().min(1, "is not a percentage; expected 1-100").max(100, "is not a percentage; expected 1-100").optional(),
            imageGCLowThresholdPercent: z.number().int().min(0, "is not a percentage; expected 0-99").max(99, "is not a percentage; expected 0-99").optional(),
        }).optional(),
        /**
         * Graceful node shutdown: when a node is shut down (by `power: off` or by hand), the kubelet stops its pods
         * first, the critical ones (Calico, Ceph's daemons if marked so) last: `period` in all, `criticalPodsPeriod` of it for those.
         */
        gracefulShutdown: z.strictObject({
            period: goDuration.default("120s"),
            criticalPodsPeriod: goDuration.default("30s"),
        }).prefault({}),
        /**
         * kubeadm's certificates live a year and only `kubeadm upgrade` renews them by itself: an up renews them on each
         * control plane once the one its API server serves has fewer than `renewBeforeDays` days left.
         */
        certificates: z.strictObject({
            renewBeforeDays: z.number("is not a number; expected a whole number of days from 1 to 300, like 90").int("is not a whole number of days; expected 1-300, like 90")
                .min(1, "is not a number of days kubeadm's certificates can be renewed before; expected 1-300, like 90")
                .max(300, "leaves less than two months between renewals of certificates that live a year; expected 1-300, like 90").default(90),
        }).prefault({}),
    }).prefault({}),
    calico: z.strictObject({
        enabled: z.boolean().default(true),
        version: version.default("3.30.3"),
        encapsulation: z.enum(["IPIP", "IPIPCrossSubnet", "VXLAN", "VXLANCrossSubnet", "None"],
            "is not a Calico encapsulation; expected IPIP, IPIPCrossSubnet, VXLAN, VXLANCrossSubnet or None (BGP without encapsulation)").default("IPIP"),
        natOutgoing: z.boolean().default(true),
        blockSize: z.number().int().min(20, "is not a valid IPAM block size; expected 20-32").max(32, "is not a valid IPAM block size; expected 20-32").default(26),
        /** 0 lets Calico detect it; its range is CalicoNetwork's own check (calicoSpecProblems, reported by rules/). */
        mtu: z.number("is not a number; expected 0 (Calico detects the MTU) or a number of bytes").default(0),
        wireguard: z.boolean().default(false),
        /** operator: the tigera operator and its Installation; manifest: Calico's calico-vxlan.yaml with this lab's settings (VXLAN only). */
        installMethod: z.enum(["operator", "manifest"], "is not a Calico install method; expected operator (the tigera operator) or manifest (calico-vxlan.yaml)").default("operator"),
        /** installMethod manifest, air-gapped: SHA256SUMS, manifests/calico-vxlan.yaml and images/*.tar from this file server. */
        mirror: url.optional(),
        /** operator: tigera-operator.yaml; manifest without a mirror: calico-vxlan.yaml. */
        manifests: manifestSource.default({}),
    }).prefault({}),
    storage: z.strictObject({
        enabled: z.boolean().default(true),
        rookVersion: version.default("1.17.8"),
        cephImage: z.string().regex(/^[a-z0-9.:/-]+:v?\d+\.\d+\.\d+$/, "is not a pinned image; expected registry/name:vX.Y.Z, like quay.io/ceph/ceph:v19.2.3").default("quay.io/ceph/ceph:v19.2.3"),
        poolSize: positiveInt.default(3),
        blockStorageClass: hostname.default("ceph-block"),
        filesystemStorageClass: hostname.default("ceph-filesystem"),
        /** How pods mount CephFS volumes: the kernel client, or ceph-fuse where the kernel has no CephFS module. */
        cephfsMounter: z.enum(["kernel", "fuse"], "is not a CephFS mounter; expected kernel or fuse").default("kernel"),
        /** Allow loop devices as OSDs (test clusters only). */
        allowLoopDevices: z.boolean().default(false),
        /** Ceph's Prometheus metrics (the mgr module and ceph-exporter); off for a Ceph image without ceph-exporter (Debian's). */
        metrics: z.boolean().default(true),
        /** How long the Rook operator lets each ceph command run before it gives up and retries the whole step (Rook's default: 15). */
        cephCommandsTimeoutSeconds: positiveInt.default(15),
        /** How long, by the clock, `pulumi up` waits for Ceph to be HEALTH_OK with every OSD up before it fails. */
        healthTimeoutMinutes: positiveInt.default(20),
        /** The Ceph daemons' liveness probes (and their startup probes' timing); absent: Rook's, 5 s every 10 s, 3 misses. */
        daemonProbes: z.strictObject({ timeoutSeconds: positiveInt, periodSeconds: positiveInt, failureThreshold: positiveInt }).optional(),
        /** On destroy, Rook wipes the OSD disks and /var/lib/rook on every node (a lab); otherwise the data stays on the disks. */
        wipeDisksOnDestroy: z.boolean().default(false),
        /** Pulumi protects the CephCluster, pool, filesystem and storage classes: a plan that would delete or replace them fails, naming them. */
        protect: z.boolean().default(true),
        /** Ceph options by section, as in ceph.conf, e.g. { global: { mon_data_avail_warn: "10" } }; values are strings. */
        cephConfig: z.record(z.string().regex(/^(global|(mon|mgr|osd|mds|client)(\.[a-z0-9_.-]+)?)$/, "is not a Ceph config section; expected global, mon, osd, mds, mgr, client or a daemon name like osd.0"),
            z.record(z.string().regex(/^[a-z0-9_]+(\/[a-z0-9_]+)*$/, "is not a Ceph option name; expected lowercase words joined by _, like osd_memory_target, or a module's option like mgr/crash/warn_recent_interval"),
                z.string("is not a string; Ceph option values are strings in the stack file, like \"1073741824\""))).default({}),
        /** Air-gapped: SHA256SUMS, manifests/{crds,common,operator}.yaml and images/*.tar from this file server (offline/build-rook.sh). */
        mirror: url.optional(),
        manifests: manifestSource.default({}),
    }).prefault({}),
});

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type NodeConfig = z.output<typeof nodeSchema>;
