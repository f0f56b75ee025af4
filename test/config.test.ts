// One test per validation rule, each with the exact message a user sees.
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { runtimeConfigOf } from "./helpers/fixtures";
import { renderPrepareScript } from "../components/baremetal/render";
import { renderDeleteBundleScript } from "../components/manifests";
import { ConfigError, formatProblem, loadConfig, parseConfig, privateKeyProblems, rawFromRuntimeConfig, readPrivateKey } from "../stacks/config";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nthrowaway\n-----END OPENSSH PRIVATE KEY-----\n";

function homeRaw(): Record<string, any> {
    return rawFromRuntimeConfig(runtimeConfigOf("Pulumi.home.yaml")).raw;
}

function messages(raw: Record<string, unknown>): string[] {
    return parseConfig(raw).problems.map(formatProblem);
}

describe("the committed stacks", () => {
    test("Pulumi.home.yaml is valid and warns that stonith is off", () => {
        const { config, problems } = parseConfig(homeRaw());
        expect(problems).toEqual([]);
        expect(config!.derived.internalInterface).toBe("enp3s0.2");
        expect(config!.derived.prefixLength).toBe(24);
        expect(config!.derived.controlPlanes.map((node) => node.hostname)).toEqual(["home-server-1", "home-server-2", "home-server-3"]);
        expect(config!.warnings.join("\n")).toContain("homelab:vip.stonithEnabled is false");
    });

    test("Pulumi.lab.yaml is valid", () => {
        const { problems } = parseConfig(rawFromRuntimeConfig(runtimeConfigOf("Pulumi.lab.yaml")).raw);
        expect(problems).toEqual([]);
    });

    test("defaults fill what the stack leaves out", () => {
        const raw = homeRaw();
        delete raw.kubernetes;
        delete raw.ssh;
        const { config } = parseConfig(raw);
        expect(config!.kubernetes).toEqual({ enabled: true, version: "1.34.2", podCidr: "172.16.0.0/16", serviceCidr: "10.96.0.0/12", dnsDomain: "cluster.local", scheduleOnControlPlanes: true, allowCgroupV1: false, kubeProxySetsConntrackLimit: true, gracefulShutdown: { period: "120s", criticalPodsPeriod: "30s" }, certificates: { renewBeforeDays: 90 } });
        expect(config!.ssh).toEqual({ user: "homeuser", port: 22, connectTimeoutSeconds: 20 });
    });
});

describe("each rule names the key, the value and what is valid", () => {
    test("malformed MAC", () => {
        const raw = homeRaw();
        raw.nodes[1].mac = "00:1e:06:2a:2b";
        expect(messages(raw)).toEqual(['homelab:nodes[1].mac: "00:1e:06:2a:2b" is not a valid MAC address; expected six hex pairs separated by \':\', like 00:1e:06:1a:1b:1c']);
    });

    test("duplicate MAC, whatever the case", () => {
        const raw = homeRaw();
        raw.nodes[2].mac = "00:1E:06:1A:1B:1C";
        expect(messages(raw)).toEqual(['homelab:nodes[2].mac: "00:1E:06:1A:1B:1C" is already used by nodes[0]; each node needs its own mac']);
    });

    test("malformed hostname", () => {
        const raw = homeRaw();
        raw.nodes[0].hostname = "Home_Server";
        expect(messages(raw)).toEqual(['homelab:nodes[0].hostname: "Home_Server" is not a valid hostname; expected lowercase letters, digits and \'-\', 1-63 characters, like home-server-1']);
    });

    test("duplicate hostname", () => {
        const raw = homeRaw();
        raw.nodes[1].hostname = "home-server-1";
        expect(messages(raw)).toEqual(['homelab:nodes[1].hostname: "home-server-1" is already used by nodes[0]; each node needs its own hostname']);
    });

    test("malformed address", () => {
        const raw = homeRaw();
        raw.nodes[0].sshAddress = "192.168.10.300";
        expect(messages(raw)).toEqual(['homelab:nodes[0].sshAddress: "192.168.10.300" is not a valid IPv4 address; expected four numbers 0-255, like 10.0.0.101']);
    });

    test("duplicate address", () => {
        const raw = homeRaw();
        raw.nodes[2].internalAddress = "10.0.0.102";
        expect(messages(raw)).toEqual(['homelab:nodes[2].internalAddress: "10.0.0.102" is already used by nodes[1]; each node needs its own internalAddress']);
    });

    test("control planes whose corosync node ids (the last 16 bits in a network larger than /16) would clash or be 0", () => {
        const raw = homeRaw();
        raw.network.cidr = "10.128.0.0/9";
        raw.vip.address = "10.128.0.100";
        raw.nodes[0].internalAddress = "10.128.0.101";
        raw.nodes[1].internalAddress = "10.129.0.101";
        raw.nodes[2].internalAddress = "10.130.0.0";
        expect(messages(raw)).toEqual([
            'homelab:nodes[1].internalAddress: "10.129.0.101" gives corosync node id 101, as nodes[0].internalAddress does (the last 16 bits of each); expected addresses that differ in their last 16 bits',
            'homelab:nodes[2].internalAddress: "10.130.0.0" gives corosync node id 0 (its host part in a /9, 16 bits at most), which corosync refuses; expected an address whose last 16 bits are not all zero',
        ]);
    });

    test("node address outside its network", () => {
        const raw = homeRaw();
        raw.nodes[2].internalAddress = "10.0.1.103";
        expect(messages(raw)).toEqual(['homelab:nodes[2].internalAddress: "10.0.1.103" is outside the internal network 10.0.0.0/24; expected an address in 10.0.0.0/24']);
    });

    test("node address that is the broadcast address", () => {
        const raw = homeRaw();
        raw.nodes[2].internalAddress = "10.0.0.255";
        expect(messages(raw)).toEqual(['homelab:nodes[2].internalAddress: "10.0.0.255" is the broadcast address of 10.0.0.0/24; expected a host address in it']);
    });

    test("VIP outside the network", () => {
        const raw = homeRaw();
        raw.vip.address = "192.168.10.100";
        expect(messages(raw)).toEqual(['homelab:vip.address: "192.168.10.100" is outside the internal network 10.0.0.0/24; expected an address in 10.0.0.0/24']);
    });

    test("VIP equal to a node address", () => {
        const raw = homeRaw();
        raw.vip.address = "10.0.0.103";
        expect(messages(raw)).toEqual(['homelab:vip.address: "10.0.0.103" is nodes[2].internalAddress; the VIP needs an address of its own in 10.0.0.0/24']);
    });

    test("VLAN id outside 1-4094", () => {
        const raw = homeRaw();
        raw.network.vlanId = 4095;
        expect(messages(raw)).toEqual(["homelab:network.vlanId: 4095 is not a valid VLAN id; expected 1-4094, or leave it unset for an untagged network"]);
    });

    test("pod network overlapping the node network", () => {
        const raw = homeRaw();
        raw.kubernetes.podCidr = "10.0.0.0/16";
        expect(messages(raw)).toEqual(['homelab:kubernetes.podCidr: "10.0.0.0/16" overlaps network.cidr (10.0.0.0/24); pod, service and node networks must not overlap']);
    });

    test("pod network overlapping the service network", () => {
        const raw = homeRaw();
        raw.kubernetes.podCidr = "10.100.0.0/16";
        expect(messages(raw)).toEqual(['homelab:kubernetes.podCidr: "10.100.0.0/16" overlaps kubernetes.serviceCidr (10.96.0.0/12); pod, service and node networks must not overlap']);
    });

    test("an even number of control planes above one", () => {
        const raw = homeRaw();
        raw.nodes.push({ hostname: "home-server-4", mac: "00:1e:06:4a:4b:4c", sshAddress: "192.168.10.104", internalAddress: "10.0.0.104", role: "control-plane", osdDevices: ["/dev/sda"] });
        expect(messages(raw)).toEqual(['homelab:nodes: "4 control planes" is an even number of control planes; etcd needs a majority, so use 1, 3 or 5']);
    });

    test("a fourth node as a worker is fine", () => {
        const raw = homeRaw();
        raw.nodes.push({ hostname: "home-server-4", mac: "00:1e:06:4a:4b:4c", sshAddress: "192.168.10.104", internalAddress: "10.0.0.104", role: "worker" });
        expect(messages(raw)).toEqual([]);
    });

    test("fewer OSD hosts than the pool size", () => {
        const raw = homeRaw();
        raw.nodes[2].osdDevices = [];
        expect(messages(raw)).toEqual(["homelab:storage.poolSize: 3 needs at least 3 nodes with OSD disks (one replica per host), but 2 have any; add OSD disks to more nodes or lower it"]);
    });

    test("loop devices as OSDs need storage.allowLoopDevices, and the Rook mirror excludes storage.manifests: every problem at once", () => {
        const raw = homeRaw();
        raw.nodes[1].osdDevices = ["/dev/sdb", "/dev/loop41"];
        raw.storage = { ...raw.storage, mirror: "http://192.168.77.1:8480/rook-v1.17.8", manifests: { url: "http://mirror.lan/rook/" } };
        expect(messages(raw)).toEqual([
            'homelab:storage.manifests: {"url":"http://mirror.lan/rook/"} is set as well as the mirror, which serves manifests/crds.yaml, common.yaml, operator.yaml; keep one of them',
            'homelab:nodes[1].osdDevices[1]: "/dev/loop41" is a loop device, which Rook refuses unless storage.allowLoopDevices is true (test clusters only); expected a whole disk such as /dev/sdb',
        ]);
        raw.storage = { ...raw.storage, manifests: {}, allowLoopDevices: true, wipeDisksOnDestroy: true };
        expect(messages(raw)).toEqual([]);
        expect(parseConfig(raw).config!.storage).toMatchObject({ mirror: "http://192.168.77.1:8480/rook-v1.17.8", wipeDisksOnDestroy: true });
    });

    test("Ceph options must be strings under a section", () => {
        const raw = homeRaw();
        raw.storage = { ...raw.storage, cephConfig: { global: { osd_memory_target: 1073741824 }, "OSD Settings": { x: "1" } } };
        expect(messages(raw)).toEqual([
            'homelab:storage.cephConfig.global.osd_memory_target: 1073741824 is not a string; Ceph option values are strings in the stack file, like "1073741824"',
            'homelab:storage.cephConfig: "OSD Settings" is not a Ceph config section; expected global, mon, osd, mds, mgr, client or a daemon name like osd.0',
        ]);
    });

    test("timeouts for slow machines: Rook's ceph commands, the wait for Ceph's health and the VIP's operations, checked with the rest", () => {
        const raw = homeRaw();
        raw.storage = { ...raw.storage, cephCommandsTimeoutSeconds: 0, healthTimeoutMinutes: 2.5, daemonProbes: { timeoutSeconds: 30, periodSeconds: -1, failureThreshold: 3 } };
        raw.vip = { ...raw.vip, operationTimeout: "a minute" };
        expect(messages(raw)).toEqual([
            'homelab:vip.operationTimeout: "a minute" is not a valid duration; expected a number and a unit (ms, s, m, h), like 5s',
            "homelab:storage.cephCommandsTimeoutSeconds: 0 must be a whole number of at least 1",
            "homelab:storage.healthTimeoutMinutes: 2.5 must be a whole number of at least 1",
            "homelab:storage.daemonProbes.periodSeconds: -1 must be a whole number of at least 1",
        ]);
        const defaults = parseConfig(homeRaw()).config!;
        expect([defaults.storage.cephCommandsTimeoutSeconds, defaults.storage.healthTimeoutMinutes, defaults.vip.operationTimeout]).toEqual([15, 20, "20s"]);
    });

    test("disks stay untouched on destroy unless the stack says otherwise", () => {
        expect(parseConfig(homeRaw()).config!.storage.wipeDisksOnDestroy).toBe(false);
    });

    test("kubelet settings: unknown eviction signals, bad thresholds and GC percentages all reported", () => {
        const raw = homeRaw();
        raw.kubernetes.kubelet = { evictionHard: { "disk.available": "5%", "nodefs.available": "five" }, imageGCHighThresholdPercent: 80, imageGCLowThresholdPercent: 90 };
        expect(messages(raw)).toEqual([
            'homelab:kubernetes.kubelet.evictionHard: "disk.available" is not a kubelet eviction signal; expected memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree or pid.available',
            'homelab:kubernetes.kubelet.evictionHard.nodefs.available: "five" is not an eviction threshold; expected a percentage like 5% or a quantity like 100Mi',
            // the rule relating the two percentages runs in the same run: they are well-formed
            "homelab:kubernetes.kubelet.imageGCLowThresholdPercent: 90 must be below kubernetes.kubelet.imageGCHighThresholdPercent (80)",
        ]);
        raw.kubernetes.kubelet.evictionHard = { "nodefs.available": "5%" };
        expect(messages(raw)).toEqual(["homelab:kubernetes.kubelet.imageGCLowThresholdPercent: 90 must be below kubernetes.kubelet.imageGCHighThresholdPercent (80)"]);
    });

    test("certificates: renewBeforeDays out of range or not a whole number is reported with what is valid", () => {
        for (const [value, reason] of [
            [0, "is not a number of days kubeadm's certificates can be renewed before; expected 1-300, like 90"],
            [365, "leaves less than two months between renewals of certificates that live a year; expected 1-300, like 90"],
            [7.5, "is not a whole number of days; expected 1-300, like 90"],
        ] as const) {
            const raw = homeRaw();
            raw.kubernetes.certificates = { renewBeforeDays: value };
            expect(messages(raw)).toEqual([`homelab:kubernetes.certificates.renewBeforeDays: ${value} ${reason}`]);
        }
    });

    test("backups: every bad value reported at once with what is valid; the folder is made absolute under the cluster's name", () => {
        const raw = homeRaw();
        raw.backups = { directory: "", everyHours: 0, keep: 2.5 };
        expect(messages(raw)).toEqual([
            'homelab:backups.directory: "" is empty; expected a folder on this machine, like ~/.local/share/homelab/backups',
            "homelab:backups.everyHours: 0 is less than an hour; expected 1-8760, like 24",
            "homelab:backups.keep: 2.5 is not a whole number; expected 1-1000, like 14",
        ]);
        raw.backups = { directory: "~/lab-snapshots" };
        const { config } = parseConfig(raw);
        expect(config!.backups).toEqual({ enabled: true, directory: "~/lab-snapshots", everyHours: 24, keep: 14 });
        expect(config!.derived.backupDirectory).toBe(path.join(os.homedir(), "lab-snapshots", "home"));
    });

    test("air-gap mirror that is not an http(s) URL", () => {
        const raw = homeRaw();
        raw.kubernetes = { mirror: "ftp://10.0.0.1/kubernetes" };
        expect(messages(raw)).toEqual(['homelab:kubernetes.mirror: "ftp://10.0.0.1/kubernetes" is not an http(s) URL; expected something like http://apt-cache.lan:3142']);
    });

    test("unknown encapsulation", () => {
        const raw = homeRaw();
        raw.calico.encapsulation = "GRE";
        expect(messages(raw)).toEqual(['homelab:calico.encapsulation: "GRE" is not a Calico encapsulation; expected IPIP, IPIPCrossSubnet, VXLAN, VXLANCrossSubnet or None (BGP without encapsulation)']);
    });

    test("unknown Calico install method", () => {
        const raw = homeRaw();
        raw.calico.installMethod = "helm";
        expect(messages(raw)).toEqual(['homelab:calico.installMethod: "helm" is not a Calico install method; expected operator (the tigera operator) or manifest (calico-vxlan.yaml)']);
    });

    test("the manifest install method with an encapsulation that needs BGP", () => {
        const raw = homeRaw();
        raw.calico.installMethod = "manifest";
        expect(messages(raw)).toEqual(['homelab:calico.encapsulation: "IPIP" is not available with installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)']);
    });

    test("a Calico mirror for the operator", () => {
        const raw = homeRaw();
        raw.calico.mirror = "http://192.168.77.1:8480/calico-v3.30.3";
        expect(messages(raw)).toEqual(['homelab:calico.mirror: "http://192.168.77.1:8480/calico-v3.30.3" needs installMethod manifest; the tigera operator\'s images are not on the mirror (for the operator\'s bundle alone, use manifests)']);
    });

    test("a Calico mirror that is not an http(s) URL", () => {
        const raw = homeRaw();
        raw.calico = { ...raw.calico, installMethod: "manifest", encapsulation: "VXLAN", mirror: "192.168.77.1:8480/calico" };
        expect(messages(raw)).toEqual(['homelab:calico.mirror: "192.168.77.1:8480/calico" is not an http(s) URL; expected something like http://apt-cache.lan:3142']);
    });

    test("the manifest install method: every problem at once", () => {
        const raw = homeRaw();
        raw.calico = { ...raw.calico, installMethod: "manifest", encapsulation: "None", mirror: "http://192.168.77.1:8480/calico-v3.31.0", manifests: { path: "calico-vxlan.yaml" } };
        expect(messages(raw)).toEqual([
            'homelab:calico.encapsulation: "None" is not available with installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)',
            'homelab:calico.manifests: {"path":"calico-vxlan.yaml"} is set as well as the mirror, which serves manifests/calico-vxlan.yaml; keep one of them',
            'homelab:calico.version: "3.30.3" is not the release calico.mirror holds (http://192.168.77.1:8480/calico-v3.31.0); expected 3.31.0, or a mirror built for 3.30.3',
        ]);
    });

    test("the air-gapped manifest install is valid, and the operator stays the default", () => {
        const raw = homeRaw();
        expect(parseConfig(raw).config!.calico).toMatchObject({ installMethod: "operator", manifests: {} });
        expect(parseConfig(raw).config!.calico.mirror).toBeUndefined();
        raw.calico = { version: "3.31.0", encapsulation: "VXLANCrossSubnet", installMethod: "manifest", mirror: "http://192.168.77.1:8480/calico-v3.31.0" };
        expect(messages(raw)).toEqual([]);
        raw.calico = { version: "3.31.0", encapsulation: "VXLAN", installMethod: "manifest", manifests: { url: "http://mirror.lan/calico-vxlan.yaml" } };
        expect(messages(raw)).toEqual([]);
    });

    test("malformed versions", () => {
        const raw = homeRaw();
        raw.kubernetes.version = "1.34";
        raw.storage.rookVersion = "latest";
        expect(messages(raw)).toEqual([
            'homelab:kubernetes.version: "1.34" is not a valid version; expected MAJOR.MINOR.PATCH, like 1.34.2',
            'homelab:storage.rookVersion: "latest" is not a valid version; expected MAJOR.MINOR.PATCH, like 1.34.2',
        ]);
    });

    test("device path that is not absolute", () => {
        const raw = homeRaw();
        raw.nodes[0].osdDevices = ["sda"];
        expect(messages(raw)).toEqual(['homelab:nodes[0].osdDevices[0]: "sda" is not an absolute path; expected a path starting with \'/\', like /dev/sda']);
    });

    test("missing SSH key", () => {
        expect(privateKeyProblems(undefined).map(formatProblem)).toEqual(["homelab:sshPrivateKey: null is missing; set it with: pulumi config set --secret homelab:sshPrivateKey < ~/.ssh/id_ed25519 (or set homelab:ssh.privateKeyFile)"]);
    });

    test("an SSH key that is not a private key, without printing it", () => {
        expect(privateKeyProblems("ssh-ed25519 AAAA public").map(formatProblem)).toEqual(['homelab:sshPrivateKey: "[secret]" is not a PEM or OpenSSH private key; expected the contents of a file such as ~/.ssh/id_ed25519']);
    });

    test("a key file that cannot be read", () => {
        const { problems } = readPrivateKey({ ssh: { privateKeyFile: "/nonexistent/id_ed25519" } }, undefined);
        expect(problems.map(formatProblem)).toEqual(['homelab:ssh.privateKeyFile: "/nonexistent/id_ed25519" cannot be read (ENOENT); expected a private key file on this machine, like ~/.ssh/id_ed25519']);
    });

    test("a key file and a secret key at once", () => {
        const { problems } = readPrivateKey({ ssh: { privateKeyFile: "key" } }, KEY);
        expect(problems.map(formatProblem)).toEqual(['homelab:ssh.privateKeyFile: "key" is set as well as homelab:sshPrivateKey; keep one of them']);
    });

    test("a misspelt key", () => {
        const raw = homeRaw();
        raw.vip.stonithEnable = false;
        expect(messages(raw)).toEqual(["homelab:vip.stonithEnable: false is not a known key; see Pulumi.yaml for the keys and their meaning"]);
    });

    test("a missing required key", () => {
        const raw = homeRaw();
        delete raw.wakeOnLan;
        expect(messages(raw)).toEqual(["homelab:wakeOnLan: null is missing; it is required (see Pulumi.yaml)"]);
    });
});

const URL_MESSAGE = "holds characters that shell scripts or apt's config would read specially; expected http(s)://host[:port]/path with only letters, digits and - . _ ~ % + , = : @ / (no spaces, quotes, backticks, $ ; & | < > \\ ( ), no ?query or #fragment; percent-encode anything else), like http://apt-cache.lan:3142";

describe("well-formed values that would fail on a machine", () => {
    test("Calico's MTU range is checked with the config (it was first checked by the renderer)", () => {
        const raw = homeRaw();
        raw.calico.mtu = 300;
        expect(messages(raw)).toEqual(["homelab:calico.mtu: 300 is not a valid Calico MTU; expected 0 (Calico detects it) or 576-9216"]);
        raw.calico.mtu = 0;
        expect(messages(raw)).toEqual([]);
    });

    test("Calico's MTU must leave room for the encapsulation on the link", () => {
        const raw = homeRaw();
        raw.calico.mtu = 1500;
        expect(messages(raw)).toEqual(["homelab:calico.mtu: 1500 does not fit the link's MTU, 1500 (network.mtu unset), less IPIP's 20 bytes; expected 0 (Calico detects it) or at most 1480"]);
        raw.calico = { ...raw.calico, encapsulation: "VXLAN", wireguard: true };
        raw.network.mtu = 9000;
        raw.calico.mtu = 8960;
        expect(messages(raw)).toEqual(["homelab:calico.mtu: 8960 does not fit the link's MTU, 9000 (network.mtu), less WireGuard's 60 bytes; expected 0 (Calico detects it) or at most 8940"]);
        raw.calico.mtu = 8940;
        expect(messages(raw)).toEqual([]);
    });

    test("a VLAN interface name over Linux's 15 characters", () => {
        const raw = homeRaw();
        raw.network = { ...raw.network, links: ["enp0s31f6np0"], vlanId: 1234 };
        expect(messages(raw)).toEqual(["homelab:network.links[0]: \"enp0s31f6np0\" with network.vlanId 1234 makes the interface enp0s31f6np0.1234, 17 characters, over Linux's 15 (netplan would skip it); expected a name of at most 10 characters for this VLAN"]);
        raw.network = { ...raw.network, links: ["enp3s0", "enp4s0"], bond: { name: "bond-internal" }, vlanId: 20 };
        expect(messages(raw)).toEqual(["homelab:network.bond.name: \"bond-internal\" with network.vlanId 20 makes the interface bond-internal.20, 16 characters, over Linux's 15 (netplan would skip it); expected a name of at most 12 characters for this VLAN"]);
        raw.network.vlanId = 2;
        expect(messages(raw)).toEqual([]);
    });

    test("a pod network that covers the machines' own addresses and the Wake-on-LAN broadcast", () => {
        const raw = homeRaw();
        raw.kubernetes.podCidr = "192.168.0.0/16";
        expect(messages(raw)).toEqual([
            "homelab:kubernetes.podCidr: \"192.168.0.0/16\" covers nodes[0].sshAddress (192.168.10.101), nodes[1].sshAddress (192.168.10.102), nodes[2].sshAddress (192.168.10.103), wakeOnLan.broadcast (192.168.10.255), which the cluster would then route to pods; expected a network that holds no machine, route or Wake-on-LAN address",
        ]);
    });

    test("a service network that covers a route's destination", () => {
        const raw = homeRaw();
        raw.network.routes = [{ to: "10.100.0.0/16", via: "10.0.0.1" }];
        expect(messages(raw)).toEqual([
            "homelab:kubernetes.serviceCidr: \"10.96.0.0/12\" covers network.routes[0].to (10.100.0.0/16), which the cluster would then route to pods; expected a network that holds no machine, route or Wake-on-LAN address",
        ]);
    });

    test("a Kubernetes version that the mirror's directory does not name", () => {
        const raw = homeRaw();
        raw.kubernetes.mirror = "http://192.168.77.1:8480/kubernetes-v1.37.2";
        expect(messages(raw)).toEqual(['homelab:kubernetes.version: "1.34.2" is not the release kubernetes.mirror holds (http://192.168.77.1:8480/kubernetes-v1.37.2); expected 1.37.2, or a mirror built for 1.34.2']);
        raw.kubernetes.version = "v1.37.2";
        expect(messages(raw)).toEqual([]);
        // a mirror under a name of its own says nothing about its release
        raw.kubernetes = { version: "1.34.2", mirror: "http://mirror.lan/k8s/" };
        expect(messages(raw)).toEqual([]);
    });

    test("another release's mirror given to Kubernetes", () => {
        const raw = homeRaw();
        raw.kubernetes.mirror = "http://192.168.77.1:8480/calico-v3.31.0/";
        expect(messages(raw)).toEqual(['homelab:kubernetes.mirror: "http://192.168.77.1:8480/calico-v3.31.0/" is a Calico mirror (calico-v3.31.0); expected the kubernetes-v<version> directory offline/build-kubernetes.sh writes, like http://192.168.77.1:8480/kubernetes-v1.34.2']);
    });

    test("a Rook version that the mirror's directory does not name", () => {
        const raw = homeRaw();
        raw.storage = { ...raw.storage, rookVersion: "v1.16.4", mirror: "http://192.168.77.1:8480/rook-v1.17.8" };
        expect(messages(raw)).toEqual(['homelab:storage.rookVersion: "v1.16.4" is not the release storage.mirror holds (http://192.168.77.1:8480/rook-v1.17.8); expected 1.17.8, or a mirror built for 1.16.4']);
    });

    test("URLs with shell or apt metacharacters, in every URL key", () => {
        const raw = homeRaw();
        raw.os = { aptProxy: 'http://apt-cache.lan:3142";Acquire::https::Proxy "x' };
        raw.kubernetes.mirror = "http://192.168.77.1:8480/kubernetes-v1.34.2;reboot";
        raw.calico.manifests = { url: "http://mirror.lan/$(id)/tigera-operator.yaml" };
        raw.storage = { ...raw.storage, manifests: { url: "http://mirror.lan/rook files/" } };
        expect(messages(raw)).toEqual([
            `homelab:os.aptProxy: "http://apt-cache.lan:3142\\";Acquire::https::Proxy \\"x" ${URL_MESSAGE}`,
            `homelab:kubernetes.mirror: "http://192.168.77.1:8480/kubernetes-v1.34.2;reboot" ${URL_MESSAGE}`,
            `homelab:calico.manifests.url: "http://mirror.lan/$(id)/tigera-operator.yaml" ${URL_MESSAGE}`,
            `homelab:storage.manifests.url: "http://mirror.lan/rook files/" ${URL_MESSAGE}`,
        ]);
        raw.os = { aptProxy: "http://user:p%40ss@apt-cache.lan:3142" };
        raw.kubernetes.mirror = "https://mirror.lan/kubernetes-v1.34.2/";
        raw.calico.manifests = { url: "http://mirror.lan/calico/v3.30.3/tigera-operator.yaml" };
        raw.storage.manifests = { url: "http://mirror.lan/rook_files/" };
        expect(messages(raw)).toEqual([]);
    });

    test("a manifest URL reaches the delete script quoted", () => {
        // unquoted, bash would run the substitution and print "ran" in its place
        const url = "http://mirror.lan/$(echo ran)/tigera-operator.yaml";
        const deleteScript = renderDeleteBundleScript({ id: "calico", version: "3.30.3", files: [{ name: "tigera-operator.yaml", url }], operator: { namespace: "tigera-operator", deployment: "tigera-operator" } });
        const echo = deleteScript.split("\n").find((line) => line.includes("fetched from"))!;
        const run = spawnSync("bash", ["-c", echo], { encoding: "utf8" });
        expect(run.stderr).toBe(`could not delete tigera-operator.yaml (fetched from ${url}); continuing\n`);
    });

    test("the apt proxy cannot end apt's quoted value early", () => {
        expect(() => renderPrepareScript({ hostname: "home-server-1", containerRuntime: "containerd", aptProxy: 'http://x";' })).toThrow("holds a quote, backslash or space");
    });
});

describe("typos a user makes, key by key", () => {
    test("the same link twice", () => {
        const raw = homeRaw();
        raw.network = { ...raw.network, links: ["enp3s0", "enp4s0", "enp3s0"], bond: { name: "bond0" } };
        expect(messages(raw)).toEqual(['homelab:network.links[2]: "enp3s0" is already network.links[0]; list each link once']);
    });

    test("a bond named like one of its links", () => {
        const raw = homeRaw();
        raw.network = { ...raw.network, links: ["enp3s0", "enp4s0"], bond: { name: "enp4s0" } };
        expect(messages(raw)).toEqual(['homelab:network.bond.name: "enp4s0" is network.links[1] too; the bond needs a name of its own, like bond0']);
    });

    test("the same OSD disk twice on a node (the same path on two nodes is fine)", () => {
        const raw = homeRaw();
        raw.nodes[0].osdDevices = ["/dev/sda", "/dev/sdb", "/dev/sda"];
        expect(messages(raw)).toEqual(['homelab:nodes[0].osdDevices[2]: "/dev/sda" is already nodes[0].osdDevices[0]; list each disk once']);
    });

    test("an OSD device outside /dev", () => {
        const raw = homeRaw();
        raw.nodes[0].osdDevices = ["/mnt/disk1"];
        expect(messages(raw)).toEqual(['homelab:nodes[0].osdDevices[0]: "/mnt/disk1" is not a disk under /dev; expected a whole disk like /dev/sdb or /dev/disk/by-id/ata-...']);
    });

    test("OSD disks on control planes that run no pods", () => {
        const raw = homeRaw();
        raw.kubernetes.scheduleOnControlPlanes = false;
        const message = "are on a control plane, which runs no pods with kubernetes.scheduleOnControlPlanes false, so Rook would start no OSD there; expected OSD disks on workers, or scheduleOnControlPlanes true";
        expect(messages(raw)).toEqual([0, 1, 2].map((index) => `homelab:nodes[${index}].osdDevices: ${JSON.stringify(raw.nodes[index].osdDevices)} ${message}`));
    });

    test("a MAC address no network card has", () => {
        const raw = homeRaw();
        raw.nodes[0].mac = "01:1e:06:1a:1b:1c";
        raw.nodes[1].mac = "ff:ff:ff:ff:ff:ff";
        const message = "is not a network card's own address (it is multicast, broadcast or all zeros); expected the MAC of the NIC that wakes, as `ip link` shows it";
        expect(messages(raw)).toEqual([`homelab:nodes[0].mac: "01:1e:06:1a:1b:1c" ${message}`, `homelab:nodes[1].mac: "ff:ff:ff:ff:ff:ff" ${message}`]);
    });

    test("a node's internal address that is a machine's SSH address", () => {
        const raw = homeRaw();
        raw.nodes[0].sshAddress = "10.0.0.50";
        raw.nodes[1].internalAddress = "10.0.0.50";
        raw.wakeOnLan.broadcast = "255.255.255.255";
        expect(messages(raw)).toEqual(['homelab:nodes[1].internalAddress: "10.0.0.50" is nodes[0].sshAddress too; the internal network needs addresses no machine has yet']);
    });

    test("the VIP equal to a node's SSH address", () => {
        const raw = homeRaw();
        raw.nodes[0].sshAddress = "10.0.0.50";
        raw.vip.address = "10.0.0.50";
        raw.wakeOnLan.broadcast = "255.255.255.255";
        expect(messages(raw)).toEqual(['homelab:vip.address: "10.0.0.50" is nodes[0].sshAddress; the VIP needs an address in 10.0.0.0/24 that no machine holds']);
    });

    test("the same route twice", () => {
        const raw = homeRaw();
        raw.network.routes = [{ to: "10.1.0.0/24", via: "10.0.0.1" }, { to: "10.1.0.0/24", via: "10.0.0.254" }];
        expect(messages(raw)).toEqual(['homelab:network.routes[1].to: "10.1.0.0/24" is already network.routes[0].to; each destination takes one route']);
    });

    test("a route's gateway outside the internal network, or a node's own address", () => {
        const raw = homeRaw();
        raw.network.routes = [{ to: "10.1.0.0/24", via: "192.168.10.1" }, { to: "10.2.0.0/24", via: "10.0.0.102" }];
        expect(messages(raw)).toEqual([
            'homelab:network.routes[0].via: "192.168.10.1" is outside the internal network 10.0.0.0/24; expected the gateway\'s address in 10.0.0.0/24',
            'homelab:network.routes[1].via: "10.0.0.102" is nodes[1].internalAddress; expected the gateway\'s own address in 10.0.0.0/24',
        ]);
    });

    test("a route to the internal network itself, and one with host bits", () => {
        const raw = homeRaw();
        raw.network.routes = [{ to: "10.0.0.0/16", via: "10.0.0.1" }, { to: "10.1.0.5/24", via: "10.0.0.1" }];
        expect(messages(raw)).toEqual([
            'homelab:network.routes[1].to: "10.1.0.5/24" has host bits set; expected the network address, 10.1.0.0/24',
            'homelab:network.routes[0].to: "10.0.0.0/16" overlaps network.cidr (10.0.0.0/24), which the nodes reach directly; expected a destination outside it',
        ]);
    });

    test("a Wake-on-LAN broadcast that does not reach the nodes", () => {
        const raw = homeRaw();
        const expected = "expected 255.255.255.255 or the broadcast address of the nodes' network, like 192.168.10.255 for 192.168.10.0/24";
        raw.wakeOnLan.broadcast = "192.168.1.255";
        expect(messages(raw)).toEqual([`homelab:wakeOnLan.broadcast: "192.168.1.255" is not the broadcast address of a network holding every node's sshAddress, so the magic packet would not reach them; ${expected}`]);
        // the internal network does not exist while the machines are off
        raw.wakeOnLan.broadcast = "10.0.0.255";
        expect(messages(raw)).toEqual([`homelab:wakeOnLan.broadcast: "10.0.0.255" is not the broadcast address of a network holding every node's sshAddress, so the magic packet would not reach them; ${expected}`]);
        raw.wakeOnLan.broadcast = "192.168.10.101";
        expect(messages(raw)).toEqual([`homelab:wakeOnLan.broadcast: "192.168.10.101" is nodes[0].sshAddress, not a broadcast address; ${expected}`]);
        // the prefix is not in the config: any network holding every node will do
        for (const broadcast of ["255.255.255.255", "192.168.11.255", "192.168.255.255", "192.168.10.127"]) {
            raw.wakeOnLan.broadcast = broadcast;
            expect(messages(raw)).toEqual([]);
        }
    });

    test("image GC thresholds against the kubelet's defaults for the one left out", () => {
        const raw = homeRaw();
        raw.kubernetes.kubelet = { imageGCHighThresholdPercent: 70 };
        expect(messages(raw)).toEqual(["homelab:kubernetes.kubelet.imageGCHighThresholdPercent: 70 must be above the kubelet's default imageGCLowThresholdPercent (80); expected 81-100, or set kubernetes.kubelet.imageGCLowThresholdPercent too"]);
        raw.kubernetes.kubelet = { imageGCLowThresholdPercent: 90 };
        expect(messages(raw)).toEqual(["homelab:kubernetes.kubelet.imageGCLowThresholdPercent: 90 must be below the kubelet's default imageGCHighThresholdPercent (85); expected 0-84, or set kubernetes.kubelet.imageGCHighThresholdPercent too"]);
    });

    test("an eviction percentage over 100%", () => {
        const raw = homeRaw();
        raw.kubernetes.kubelet = { evictionHard: { "nodefs.available": "150%" } };
        expect(messages(raw)).toEqual(['homelab:kubernetes.kubelet.evictionHard.nodefs.available: "150%" is more than 100%, which the kubelet refuses; expected a percentage from 0% to 100%, like 5%']);
    });

    test("a probe timeout longer than its period", () => {
        const raw = homeRaw();
        raw.storage.daemonProbes = { timeoutSeconds: 60, periodSeconds: 30, failureThreshold: 5 };
        expect(messages(raw)).toEqual(["homelab:storage.daemonProbes.timeoutSeconds: 60 is longer than storage.daemonProbes.periodSeconds (30): a probe would still run when the next is due; expected at most 30 (were the two swapped?)"]);
    });

    test("one name for both storage classes", () => {
        const raw = homeRaw();
        raw.storage.filesystemStorageClass = "ceph-block";
        expect(messages(raw)).toEqual(['homelab:storage.filesystemStorageClass: "ceph-block" is storage.blockStorageClass too; each storage class needs its own name, like ceph-filesystem']);
    });

    test("Ceph sections: a misspelt one, and a mgr module's option where no mgr reads it", () => {
        const raw = homeRaw();
        raw.storage.cephConfig = { globl: { mon_data_avail_warn: "5" }, osd: { "mgr/crash/warn_recent_interval": "0" } };
        expect(messages(raw)).toEqual([
            'homelab:storage.cephConfig: "globl" is not a Ceph config section; expected global, mon, osd, mds, mgr, client or a daemon name like osd.0',
            'homelab:storage.cephConfig.osd.mgr/crash/warn_recent_interval: "0" is a mgr module\'s option in section osd, which no mgr reads; expected it under mgr',
        ]);
    });

    test("zero durations where Pacemaker needs a positive one (a zero failureTimeout means never expire, and is allowed)", () => {
        const raw = homeRaw();
        raw.vip = { ...raw.vip, monitorInterval: "0s", operationTimeout: "0ms", failureTimeout: "0s" };
        expect(messages(raw)).toEqual([
            'homelab:vip.monitorInterval: "0s" is zero; expected a positive duration, like 5s',
            'homelab:vip.operationTimeout: "0ms" is zero; expected a positive duration, like 20s',
        ]);
    });

    test("a DNS domain kubeadm refuses", () => {
        const raw = homeRaw();
        raw.kubernetes.dnsDomain = "cluster..local";
        expect(messages(raw)).toEqual([`homelab:kubernetes.dnsDomain: "cluster..local" is not a valid DNS domain; expected labels of lowercase letters, digits and '-' joined by single dots, like cluster.local`]);
    });

    test("pod and service networks Kubernetes refuses: sizes, host bits, octets", () => {
        const raw = homeRaw();
        raw.kubernetes.podCidr = "172.16.0.0/25";
        raw.kubernetes.serviceCidr = "10.64.0.0/10";
        expect(messages(raw)).toEqual([
            'homelab:kubernetes.podCidr: "172.16.0.0/25" has a prefix length Kubernetes refuses; expected /8 to /24 (kubeadm gives each node a /24 of it, and at most 65536 of them), like 172.16.0.0/16',
            'homelab:kubernetes.serviceCidr: "10.64.0.0/10" has a prefix length Kubernetes refuses; expected /12 to /28 (the API server takes at most a /12; kubeadm puts the cluster DNS at its 10th address), like 10.96.0.0/12',
        ]);
        raw.kubernetes.podCidr = "172.16.5.0/16";
        raw.kubernetes.serviceCidr = "10.96.0.300/12";
        expect(messages(raw)).toEqual([
            'homelab:kubernetes.podCidr: "172.16.5.0/16" has host bits set; expected the network address, 172.16.0.0/16',
            'homelab:kubernetes.serviceCidr: "10.96.0.300/12" is not a valid IPv4 network; expected address/prefix, like 10.0.0.0/24',
        ]);
    });
});

describe("every problem in one run", () => {
    test("malformed values and mistakes across values together; no rule speaks from a malformed value", () => {
        const raw = homeRaw();
        raw.nodes[0].mac = "nope";                                  // malformed: the duplicate-MAC rule skips it
        raw.nodes[1].hostname = "home-server-1";                    // across values: a duplicate
        raw.network.cidr = "10.0.0.0/33";                           // malformed: every rule that places an address in it is silent
        raw.network.routes = [{ to: "10.1.0.0/24", via: "10.0.0.1" }, { to: "10.1.0.0/24", via: "10.0.0.1" }]; // a duplicate, judged without network.cidr
        raw.vip = { ...raw.vip, address: "10.0.0.102", monitorInterval: "often", stonithEnable: false }; // a node's address; malformed; unknown key
        delete raw.wakeOnLan;                                       // missing: the broadcast rule is silent
        raw.kubernetes = { ...raw.kubernetes, serviceCidr: "172.16.0.0/20", mirror: "http://192.168.77.1:8480/kubernetes-v1.37.2" };
        raw.calico.mtu = 100;                                       // outside Calico's range (its own check): the MTU-fit rule is silent
        raw.storage = { ...raw.storage, filesystemStorageClass: "ceph-block", poolSize: 0 }; // a clash; malformed: the pool rule is silent
        expect(messages(raw)).toEqual([
            // the schema's problems
            'homelab:nodes[0].mac: "nope" is not a valid MAC address; expected six hex pairs separated by \':\', like 00:1e:06:1a:1b:1c',
            "homelab:wakeOnLan: null is missing; it is required (see Pulumi.yaml)",
            'homelab:network.cidr: "10.0.0.0/33" is not a valid IPv4 network; expected address/prefix, like 10.0.0.0/24',
            'homelab:vip.monitorInterval: "often" is not a valid duration; expected a number and a unit (ms, s, m, h), like 5s',
            "homelab:vip.stonithEnable: false is not a known key; see Pulumi.yaml for the keys and their meaning",
            "homelab:storage.poolSize: 0 must be a whole number of at least 1",
            // the rules across values, in the same run
            'homelab:nodes[1].hostname: "home-server-1" is already used by nodes[0]; each node needs its own hostname',
            'homelab:vip.address: "10.0.0.102" is nodes[1].internalAddress; the VIP needs an address of its own',
            'homelab:network.routes[1].to: "10.1.0.0/24" is already network.routes[0].to; each destination takes one route',
            'homelab:kubernetes.podCidr: "172.16.0.0/16" overlaps kubernetes.serviceCidr (172.16.0.0/20); pod, service and node networks must not overlap',
            'homelab:kubernetes.version: "1.34.2" is not the release kubernetes.mirror holds (http://192.168.77.1:8480/kubernetes-v1.37.2); expected 1.37.2, or a mirror built for 1.34.2',
            'homelab:storage.filesystemStorageClass: "ceph-block" is storage.blockStorageClass too; each storage class needs its own name, like ceph-filesystem',
            "homelab:calico.mtu: 100 is not a valid Calico MTU; expected 0 (Calico detects it) or 576-9216",
        ]);
    });
});

describe("every problem at once, before anything is registered", () => {
    test("a key stored in plaintext is refused without showing it", () => {
        const all = { ...runtimeConfigOf("Pulumi.home.yaml"), "homelab:sshPrivateKey": KEY };
        expect(() => loadConfig(all, () => false)).toThrow(
            'homelab:sshPrivateKey: "[not shown]" is stored in plaintext in the stack file; remove it and set it with: pulumi config set --secret homelab:sshPrivateKey < ~/.ssh/id_ed25519');
        expect(() => loadConfig(all, () => true)).not.toThrow();
    });

    test("loadConfig throws one ConfigError listing all problems", () => {
        const all = runtimeConfigOf("Pulumi.home.yaml");
        const nodes = JSON.parse(all["homelab:nodes"]);
        nodes[0].mac = "nope";
        nodes[1].osdDevices = ["dev/sdb"];
        all["homelab:nodes"] = JSON.stringify(nodes);
        all["homelab:network"] = JSON.stringify({ links: ["enp3s0"], vlanId: 0, cidr: "10.0.0.0/24" });
        let error: unknown;
        try {
            loadConfig(all, () => true);
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toBe([
            "stack config has 4 problems; nothing was changed:",
            "  - homelab:sshPrivateKey: null is missing; set it with: pulumi config set --secret homelab:sshPrivateKey < ~/.ssh/id_ed25519 (or set homelab:ssh.privateKeyFile)",
            "  - homelab:nodes[0].mac: \"nope\" is not a valid MAC address; expected six hex pairs separated by ':', like 00:1e:06:1a:1b:1c",
            "  - homelab:nodes[1].osdDevices[0]: \"dev/sdb\" is not an absolute path; expected a path starting with '/', like /dev/sda",
            "  - homelab:network.vlanId: 0 is not a valid VLAN id; expected 1-4094, or leave it unset for an untagged network",
        ].join("\n"));
    });
});
