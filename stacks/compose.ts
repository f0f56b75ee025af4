// The whole chain in one readable place:
// nodes power on → internal network → VIP → kubeadm → Calico → Rook.
// Every edge is an `after` (components/order.ts), each with the reason it is there.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { BareMetalNode } from "../components/baremetal";
import { ClusterBackup, ClusterRestore, RestoreReport, snapshotDue, SnapshotReport } from "../components/backup";
import { CalicoNetwork } from "../components/calico";
import { HealthGate, KubeadmCluster } from "../components/kubeadm";
import { RookCeph } from "../components/rook";
import { PacemakerVip } from "../components/pacemaker";
import { LabPower, PowerReport } from "../components/power";
import { SshTarget } from "../components/remote";
import { VlanInterface } from "../components/vlan";
import { HomelabConfig } from "./config";
import { Observed } from "./observe";

export interface NodeSummary {
    name: string;
    address: string;
    internalAddress: string;
    roles: string[];
}

export interface Homelab {
    nodes: NodeSummary[];
    vip: pulumi.Output<string>;
    apiEndpoint?: pulumi.Output<string>;
    kubeconfig?: pulumi.Output<string>;
    podCidr?: string;
    storageClasses?: pulumi.Output<{ block: string; filesystem: string }>;
    /** What the power routine said when it last ran, e.g. { state: "on", seconds: 212, at: ... }. */
    power: pulumi.Output<PowerReport>;
    /** When the first of kubeadm's certificates expires (ISO 8601); renewed by an up before that. */
    certificatesExpire?: pulumi.Output<string>;
    /** The etcd snapshot last taken and kept on this machine. */
    lastSnapshot?: pulumi.Output<SnapshotReport>;
    /** The snapshot last restored (backups.restoreFrom), when one was. */
    restored?: pulumi.Output<RestoreReport>;
}

export function sshTargetOf(config: HomelabConfig, node: HomelabConfig["nodes"][number]): SshTarget & { host: string; port: number } {
    return {
        host: node.sshAddress,
        port: config.ssh.port,
        user: config.ssh.user,
        privateKey: config.sshPrivateKey,
        hostKey: node.sshHostKey,
        connectTimeoutSeconds: config.ssh.connectTimeoutSeconds,
    };
}

function rolesOf(config: HomelabConfig, node: HomelabConfig["nodes"][number]): string[] {
    if (node.role === "worker") return ["worker"];
    return config.kubernetes.enabled && config.kubernetes.scheduleOnControlPlanes ? ["control-plane", "worker"] : ["control-plane"];
}

/** `observed`: the lab as the program saw it when it started (stacks/observe.ts). */
export function composeHomelab(config: HomelabConfig, observed: Observed): Homelab {
    const seen = observed.power;
    for (const warning of config.warnings) pulumi.log.warn(warning);
    const hosts = config.nodes.map((node) => ({ hostname: node.hostname, address: node.internalAddress }));

    const machines = config.nodes.map((node) => {
        const ssh = sshTargetOf(config, node);
        const machine = new BareMetalNode(node.hostname, {
            hostname: node.hostname,
            mac: node.mac,
            wakeOnLan: config.wakeOnLan,
            ssh,
            hosts,
            os: config.os,
            power: { state: config.power, seen: seen[node.hostname] ?? "off" },
        });
        const network = new VlanInterface(`${node.hostname}-internal`, {
            ssh: machine.ssh,
            network: {
                links: config.network.links,
                bond: config.network.bond,
                vlanId: config.network.vlanId,
                addresses: [`${node.internalAddress}/${config.derived.prefixLength}`],
                mtu: config.network.mtu,
                routes: config.network.routes,
            },
            // netplan runs on an awake, prepared node
            after: machine.ready,
        });
        // every later step checks the host key the node showed (or that the stack config pins)
        return { node, ssh: machine.ssh, machine, network };
    });

    const controlPlanes = machines.filter(({ node }) => node.role === "control-plane");
    const vip = new PacemakerVip(`${config.clusterName}-vip`, {
        settings: {
            clusterName: config.clusterName,
            members: controlPlanes.map(({ node }) => ({ hostname: node.hostname, address: node.internalAddress })),
            vip: config.vip.address,
            prefixLength: config.derived.prefixLength,
            interfaceName: config.derived.internalInterface,
            stonithEnabled: config.vip.stonithEnabled,
            resourceStickiness: config.vip.resourceStickiness,
            monitorInterval: config.vip.monitorInterval,
            migrationThreshold: config.vip.migrationThreshold,
            failureTimeout: config.vip.failureTimeout,
            operationTimeout: config.vip.operationTimeout,
            healthCheckUrl: config.kubernetes.enabled ? "https://127.0.0.1:6443/readyz" : undefined,
        },
        // corosync talks on the internal network: each member waits for its own node's
        members: controlPlanes.map(({ ssh, network }) => ({ ssh, after: network.ready })),
    });

    const nodes = config.nodes.map((node) => ({ name: node.hostname, address: node.sshAddress, internalAddress: node.internalAddress, roles: rolesOf(config, node) }));
    // the lab's power, last: switched off (or seen healthy again) once everything else is in place
    const labPower = (after: pulumi.Resource[], storageWaitScript?: string) => new LabPower(`${config.clusterName}-power`, {
        state: config.power,
        seen,
        nodes: machines.map(({ node, ssh }) => ({ name: node.hostname, host: node.sshAddress, port: config.ssh.port, mac: node.mac, role: node.role, hostKey: ssh.hostKey as pulumi.Input<string> })),
        user: config.ssh.user,
        privateKey: config.sshPrivateKey,
        wakeOnLan: config.wakeOnLan,
        kubernetes: config.kubernetes.enabled,
        storageWaitScript,
        ignoreCephHealth: config.shutdown.ignoreCephHealth,
        vip: true,
        after,
    });
    if (!config.kubernetes.enabled) return { nodes, vip: vip.vip, power: labPower(vip.ready).power };

    const k8s = config.kubernetes;
    const cluster = new KubeadmCluster(`${config.clusterName}-kubernetes`, {
        clusterName: config.clusterName,
        version: k8s.version,
        podCidr: k8s.podCidr,
        serviceCidr: k8s.serviceCidr,
        dnsDomain: k8s.dnsDomain,
        controlPlaneEndpoint: { address: config.vip.address, port: 6443 },
        // a node's packages need only the node prepared, so they install while the network and the VIP come up
        nodes: machines.map(({ node, ssh, machine }) => ({ hostname: node.hostname, internalAddress: node.internalAddress, role: node.role, ssh, machine: machine.machine, after: machine.ready })),
        scheduleOnControlPlanes: k8s.scheduleOnControlPlanes,
        allowCgroupV1: k8s.allowCgroupV1,
        kubeProxySetsConntrackLimit: k8s.kubeProxySetsConntrackLimit,
        kubelet: k8s.kubelet,
        gracefulShutdown: k8s.gracefulShutdown,
        certificates: { renewBeforeDays: k8s.certificates.renewBeforeDays, served: observed.certificates, now: observed.at },
        packages: k8s.mirror ? { source: "mirror", url: k8s.mirror } : { source: "upstream" },
        // a lab rebuilt from a snapshot starts from its CAs (private keys: secret in this program, whatever the provider does)
        restoredPki: config.restore && { archive: pulumi.secret(config.restore.pki), caSha256: config.restore.caSha256, snapshot: path.basename(config.restore.file) },
        // kubeadm init goes through the VIP, and nodes join over the internal network
        after: [...vip.ready, ...machines.flatMap(({ network }) => network.ready)],
    });
    const adminNode = controlPlanes[0].ssh;

    let ready: pulumi.Resource[] = cluster.ready;
    if (config.calico.enabled) {
        const { enabled: _enabled, ...calicoSettings } = config.calico;
        const calico = new CalicoNetwork(`${config.clusterName}-calico`, {
            ...calicoSettings,
            podCidr: k8s.podCidr,
            nodeAddressCidr: config.network.cidr,
            kubeconfig: cluster.kubeconfig,
            clusterIdentifier: cluster.clusterIdentifier,
            adminNode,
            // a node's images go into its containerd as soon as that runs
            nodes: machines.map(({ node, ssh }) => ({ hostname: node.hostname, ssh, after: cluster.runtimeReadyOn[node.hostname] })),
            // Calico is applied through the API, once every node has joined
            after: cluster.ready,
        });
        ready = calico.ready;
    }

    let storageClasses: Homelab["storageClasses"];
    let storageWaitScript: string | undefined;
    let guardClaims = (_after: pulumi.Resource[]) => undefined as void;
    let healthGate: HealthGate | undefined;
    if (config.storage.enabled) {
        const storage = config.storage;
        const rook = new RookCeph(`${config.clusterName}-rook`, {
            rookVersion: storage.rookVersion,
            cephImage: storage.cephImage,
            poolSize: storage.poolSize,
            // a node's images and the check of its disks need only its containerd
            nodes: machines.map(({ node, ssh, machine }) => ({ hostname: node.hostname, osdDevices: node.osdDevices, controlPlane: node.role === "control-plane", ssh, machine: machine.machine, after: cluster.runtimeReadyOn[node.hostname] })),
            blockStorageClass: storage.blockStorageClass,
            filesystemStorageClass: storage.filesystemStorageClass,
            allowLoopDevices: storage.allowLoopDevices,
            wipeDisksOnDestroy: storage.wipeDisksOnDestroy,
            protect: storage.protect,
            cephConfig: storage.cephConfig,
            metrics: storage.metrics,
            cephCommandsTimeoutSeconds: storage.cephCommandsTimeoutSeconds,
            healthTimeoutMinutes: storage.healthTimeoutMinutes,
            daemonProbes: storage.daemonProbes,
            mirror: storage.mirror,
            manifests: storage.manifests,
            kubeconfig: cluster.kubeconfig,
            clusterIdentifier: cluster.clusterIdentifier,
            adminNode,
            csi: { cephfsMounter: storage.cephfsMounter },
            // OSD pods need the pod network
            after: ready,
        });
        storageClasses = rook.storageClasses;
        storageWaitScript = rook.healthWaitScript;
        guardClaims = rook.guardClaims;
        healthGate = rook.healthGate;
        ready = rook.ready;
    }

    // nodes the config no longer lists leave Kubernetes and etcd once Ceph has moved its data off them
    ready = [...ready, ...cluster.removeDeparted(ready)];
    // a new kubernetes.version reaches one node at a time once those have left, each node gated on Ceph's health
    ready = [...ready, ...cluster.upgradeNodes({ after: ready, healthGate })];

    const controlPlanesToReach = () => machines.filter(({ node }) => node.role === "control-plane")
        .map(({ node, ssh }) => ({ name: node.hostname, host: node.sshAddress, port: config.ssh.port, hostKey: ssh.hostKey as pulumi.Input<string> }));
    let backup: ClusterBackup | undefined;
    if (config.backups.enabled) {
        const anyOn = Object.values(seen).some((state) => state === "on");
        backup = new ClusterBackup(`${config.clusterName}-backup`, {
            clusterName: config.clusterName,
            controlPlanes: controlPlanesToReach(),
            directory: config.derived.backupDirectory,
            keep: config.backups.keep,
            // a later up would fail on a restoreFrom that names a pruned file
            spare: config.restore ? [path.basename(config.restore.file)] : [],
            // a lab wanted off and found off has no etcd to snapshot; one about to be switched off is snapshotted first
            due: config.power === "off" && !anyOn ? undefined
                : snapshotDue({ newest: observed.newestSnapshot, everyHours: config.backups.everyHours, now: observed.at, powerOffPlanned: config.power === "off" }),
            user: config.ssh.user,
            privateKey: config.sshPrivateKey,
            // a snapshot of the cluster once it holds what this up put in it
            after: [...cluster.ready, ...ready],
        });
    }

    let restore: ClusterRestore | undefined;
    if (config.restore) {
        restore = new ClusterRestore(`${config.clusterName}-restore`, {
            clusterName: config.clusterName,
            controlPlanes: controlPlanesToReach(),
            file: config.restore.file,
            sha256: config.restore.sha256,
            directory: config.derived.backupDirectory,
            keep: config.backups.keep,
            user: config.ssh.user,
            privateKey: config.sshPrivateKey,
            // onto the cluster this up converged, after its scheduled snapshot
            after: [...cluster.ready, ...ready, ...(backup?.ready ?? [])],
        });
    }

    // the power routine goes last, after the snapshot and a restore: a planned power-off is a risky step
    const power = labPower([...vip.ready, ...cluster.ready, ...ready, ...(backup?.ready ?? []), ...(restore?.ready ?? [])], storageWaitScript);
    // a destroy's first step, after the power routine: it stops the destroy while claims use Ceph
    guardClaims(power.ready);
    return { nodes, vip: vip.vip, apiEndpoint: cluster.apiEndpoint, kubeconfig: cluster.kubeconfig, podCidr: k8s.podCidr, storageClasses, power: power.power, certificatesExpire: cluster.certificatesExpire, lastSnapshot: backup?.lastSnapshot, restored: restore?.restored };
}
