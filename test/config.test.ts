// One test per validation rule, each with the exact message a user sees.
import { runtimeConfigOf } from "./helpers/fixtures";
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
        expect(config!.kubernetes).toEqual({ enabled: true, version: "1.34.2", podCidr: "172.16.0.0/16", serviceCidr: "10.96.0.0/12", dnsDomain: "cluster.local", scheduleOnControlPlanes: true, allowCgroupV1: false, kubeProxySetsConntrackLimit: true });
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
        expect(messages(raw)).toEqual(["homelab:storage.poolSize: 3 needs at least 3 nodes with osdDevices, but 2 have any; add osdDevices to more nodes or lower storage.poolSize"]);
    });

    test("loop devices as OSDs need storage.allowLoopDevices, and the Rook mirror excludes storage.manifests: every problem at once", () => {
        const raw = homeRaw();
        raw.nodes[1].osdDevices = ["/dev/sdb", "/dev/loop41"];
        raw.storage = { ...raw.storage, mirror: "http://192.168.77.1:8480/rook-v1.17.8", manifests: { url: "http://mirror.lan/rook/" } };
        expect(messages(raw)).toEqual([
            'homelab:storage.manifests: {"url":"http://mirror.lan/rook/"} is set as well as storage.mirror, which serves manifests/crds.yaml, common.yaml and operator.yaml; keep one of them',
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
            'homelab:storage.cephConfig: "OSD Settings" is not a Ceph config section; expected global, mon, osd, mds, mgr or a daemon name like osd.0',
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
        ]);
        raw.kubernetes.kubelet.evictionHard = { "nodefs.available": "5%" };
        expect(messages(raw)).toEqual(["homelab:kubernetes.kubelet.imageGCLowThresholdPercent: 90 must be below kubernetes.kubelet.imageGCHighThresholdPercent (80)"]);
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
        expect(messages(raw)).toEqual(['homelab:calico.encapsulation: "IPIP" is not available with calico.installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)']);
    });

    test("a Calico mirror for the operator", () => {
        const raw = homeRaw();
        raw.calico.mirror = "http://192.168.77.1:8480/calico-v3.31.0";
        expect(messages(raw)).toEqual(['homelab:calico.mirror: "http://192.168.77.1:8480/calico-v3.31.0" needs calico.installMethod manifest; the tigera operator\'s images are not on the mirror (for the operator\'s bundle alone, use calico.manifests)']);
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
            'homelab:calico.encapsulation: "None" is not available with calico.installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)',
            'homelab:calico.manifests: {"path":"calico-vxlan.yaml"} is set as well as calico.mirror, which serves manifests/calico-vxlan.yaml; keep one of them',
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
