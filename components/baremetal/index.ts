import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { Follows } from "../order";
import { deleteOnlyStep, remoteScript, SshTarget } from "../remote";
import { HostEntry, renderHostsScript, renderMachineIdentityScript, renderPowerOffScript, renderPrepareScript } from "./render";

export interface WakeOnLan {
    /** Broadcast address the magic packet goes to, e.g. 192.168.10.255. */
    broadcast: string;
    /** UDP port, usually 9. */
    port: number;
    /** How long to wait for SSH after the packet, in seconds. */
    timeoutSeconds: number;
}

export interface BareMetalNodeArgs extends Follows {
    /** e.g. home-server-1 */
    hostname: string;
    /** MAC of the NIC that wakes, e.g. 00:1e:06:1a:1b:1c. */
    mac: string;
    wakeOnLan: WakeOnLan;
    ssh: SshTarget & { host: string; port: number };
    /** Every node of the lab, for /etc/hosts. */
    hosts: HostEntry[];
    os: { containerRuntime: "containerd"; aptProxy?: string };
    /**
     * The lab's wanted power state, and what the program saw of this node when it started (its SSH
     * port probed, no login), e.g. { state: "on", seen: "off" } after a power cut: the node is then
     * woken before any of its steps runs. Default { state: "on", seen: "on" }.
     */
    power?: { state: "on" | "off"; seen: "on" | "off" };
}

/** The local helper that sends the magic packet; relative to the project so that state does not depend on where it is checked out. */
const POWER_HELPER = path.relative(process.cwd(), path.join(__dirname, "power.js"));

/** One physical server: woken by Wake-on-LAN, prepared for Kubernetes, powered off on delete. */
export class BareMetalNode extends pulumi.ComponentResource {
    readonly hostname: pulumi.Output<string>;
    readonly address: pulumi.Output<string>;
    readonly mac: pulumi.Output<string>;
    /**
     * Which machine answers at the address: the sha256 of its /etc/machine-id, or "unknown". A
     * machine put in place of a dead one under the same hostname has another (see KubeadmCluster's
     * admission of a node).
     */
    readonly machine: pulumi.Output<string>;
    /** Complete when the node is awake and prepared. */
    readonly ready: pulumi.Resource[];
    /**
     * How every later step reaches this node: args.ssh with the host key that every connection
     * checks, pinned in the stack config or recorded at first contact.
     */
    readonly ssh: SshTarget & { host: string; port: number };

    constructor(name: string, args: BareMetalNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:BareMetalNode", name, {}, opts);

        const environment = {
            HOMELAB_NODE: args.hostname,
            HOMELAB_SSH_HOST: args.ssh.host,
            HOMELAB_SSH_PORT: String(args.ssh.port),
            HOMELAB_MAC: args.mac,
            HOMELAB_WOL_BROADCAST: args.wakeOnLan.broadcast,
            HOMELAB_WOL_PORT: String(args.wakeOnLan.port),
            HOMELAB_TIMEOUT_SECONDS: String(args.wakeOnLan.timeoutSeconds),
        };
        const power = new command.local.Command(`${name}-power`, {
            create: `node ${POWER_HELPER} wake`,
            delete: `node ${POWER_HELPER} wait-off`,
            environment,
        }, { parent: this, dependsOn: args.after });

        // Wakes the node when the lab should be on and the program saw it off (a power cut): the
        // only step planned then, before any other of this node's steps. With the node as wanted,
        // nothing is planned: whatever woke it last time is left out of the diff, and so is the
        // environment, whose HOMELAB_POWER follows the wanted state (a planned power-off is the
        // routine's alone; an update here would only say "not waking it")
        const { state, seen } = args.power ?? { state: "on", seen: "on" };
        const waking = state === "on" && seen === "off";
        const wake = new command.local.Command(`${name}-wake`, {
            create: `node ${POWER_HELPER} wake`,
            update: `node ${POWER_HELPER} wake`,
            environment: { ...environment, HOMELAB_POWER: state },
            triggers: [waking ? `seen off at ${new Date().toISOString()}` : "as wanted"],
        }, { parent: this, dependsOn: [power], ignoreChanges: waking ? [] : ["triggers", "environment"] });

        // Trust on first use: the key the node shows when first reached is recorded in the state, and
        // every SSH step then checks it (the command provider checks only a key it is given)
        const hostKey = args.ssh.hostKey ?? new command.local.Command(`${name}-host-key`, {
            create: `node ${POWER_HELPER} host-key`,
            environment: { HOMELAB_NODE: args.hostname, HOMELAB_SSH_HOST: args.ssh.host, HOMELAB_SSH_PORT: String(args.ssh.port) },
            // on update (a new address or port) the key recorded before is compared with the one found
            addPreviousOutputInEnv: true,
        }, { parent: this, dependsOn: [power, wake] }).stdout;
        const ssh = { ...args.ssh, hostKey };

        const prepare = remoteScript(`${name}-prepare`, {
            target: ssh,
            create: renderPrepareScript({ hostname: args.hostname, ...args.os }),
        }, { parent: this, dependsOn: [power, wake] });
        // apart from the preparation: a node added to the lab re-runs only this on the others
        const hosts = remoteScript(`${name}-hosts`, {
            target: ssh,
            create: renderHostsScript(args.hosts),
        }, { parent: this, dependsOn: [prepare] });
        const identity = remoteScript(`${name}-machine-identity`, {
            target: ssh,
            create: renderMachineIdentityScript(),
        }, { parent: this, dependsOn: [power, wake] });

        // Created last so that it is deleted first: everything that needs the
        // node running is gone before it powers off, and `power` then waits for SSH to close.
        this.ready = [deleteOnlyStep(`${name}-poweroff`, {
            target: ssh,
            delete: renderPowerOffScript(args.hostname),
        }, { parent: this, dependsOn: [hosts, identity] })];
        this.ssh = ssh;

        this.hostname = pulumi.output(args.hostname);
        this.address = pulumi.output(args.ssh.host);
        this.mac = pulumi.output(args.mac);
        this.machine = identity.stdout.apply((text) => text.trim());
        this.registerOutputs({ hostname: this.hostname, address: this.address, mac: this.mac, machine: this.machine });
    }
}
