import * as pulumi from "@pulumi/pulumi";
import { Follows } from "../order";
import { remoteScript, SshTarget } from "../remote";
import { InternalNetwork, interfaceName, renderApplyScript, renderRemoveScript } from "./render";

export interface VlanInterfaceArgs extends Follows {
    /** Node the network is configured on; its management address must survive. */
    ssh: SshTarget & { host: string };
    network: InternalNetwork;
}

/** The internal network of one node, as a netplan file of its own: a VLAN (optionally on a bond) or an untagged link. */
export class VlanInterface extends pulumi.ComponentResource {
    readonly interfaceName: pulumi.Output<string>;
    readonly addresses: pulumi.Output<string[]>;
    /** Complete when the internal network is up on the node. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: VlanInterfaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:VlanInterface", name, {}, opts);
        this.ready = [remoteScript(`${name}-netplan`, {
            target: args.ssh,
            create: renderApplyScript(args.network, args.ssh.host),
            delete: renderRemoveScript(args.network),
        }, { parent: this, dependsOn: args.after })];
        this.interfaceName = pulumi.output(interfaceName(args.network));
        this.addresses = pulumi.output(args.network.addresses);
        this.registerOutputs({ interfaceName: this.interfaceName, addresses: this.addresses });
    }
}
