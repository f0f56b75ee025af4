import * as pulumi from "@pulumi/pulumi";
import { remoteScript, SshTarget } from "../remote";
import { InternalNetwork, interfaceName, renderApplyScript, renderRemoveScript } from "./render";

export interface VlanInterfaceArgs {
    /** Node the network is configured on; its management address must survive. */
    ssh: SshTarget & { host: string };
    network: InternalNetwork;
}

/** The internal network of one node, as a netplan file of its own: a VLAN (optionally on a bond) or an untagged link. */
export class VlanInterface extends pulumi.ComponentResource {
    readonly interfaceName: pulumi.Output<string>;
    readonly addresses: pulumi.Output<string[]>;
    readonly ready: pulumi.Resource;

    constructor(name: string, args: VlanInterfaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:VlanInterface", name, {}, opts);
        this.ready = remoteScript(`${name}-netplan`, {
            target: args.ssh,
            create: renderApplyScript(args.network, args.ssh.host),
            delete: renderRemoveScript(args.network),
            // Recorded on the child too, so that the state says the node must be awake first.
        }, { parent: this, dependsOn: opts?.dependsOn });
        this.interfaceName = pulumi.output(interfaceName(args.network));
        this.addresses = pulumi.output(args.network.addresses);
        this.registerOutputs({ interfaceName: this.interfaceName, addresses: this.addresses });
    }
}
