import * as pulumi from "@pulumi/pulumi";
import { remoteScript, SshTarget } from "../remote";
import { randomHex } from "../secret";
import { AUTHKEY_BYTES, renderClusterScript, renderMemberScript, renderRemoveMemberScript, renderRemoveVipScript, VipSettings } from "./render";

export interface PacemakerVipArgs {
    /** Everything the rendered files need: members, VIP, interface, policy. */
    settings: VipSettings;
    /** SSH access to each member, in the order of settings.members. */
    ssh: SshTarget[];
}

/** A corosync/pacemaker cluster over the control planes, holding an IPaddr2 VIP for the Kubernetes API. */
export class PacemakerVip extends pulumi.ComponentResource {
    readonly vip: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    readonly ready: pulumi.Resource;

    constructor(name: string, args: PacemakerVipArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:PacemakerVip", name, {}, opts);
        if (args.ssh.length !== args.settings.members.length) {
            throw new pulumi.ResourceError(`PacemakerVip ${name}: ${args.settings.members.length} members but ${args.ssh.length} SSH targets`, this);
        }
        // corosync's shared key, handed to each member as base64 on stdin
        const authkey = randomHex(`${name}-authkey`, AUTHKEY_BYTES, { parent: this }).apply((hex) => Buffer.from(hex, "hex").toString("base64"));

        const members = args.settings.members.map((member, index) => remoteScript(`${name}-member-${member.hostname}`, {
            target: args.ssh[index],
            create: renderMemberScript(args.settings),
            delete: renderRemoveMemberScript(),
            stdin: authkey,
            // Recorded on each member too, so that the state says the internal network comes first.
        }, { parent: this, dependsOn: opts?.dependsOn }));

        // The VIP is configured once every member runs corosync with the same key and membership.
        this.ready = remoteScript(`${name}-vip`, {
            target: args.ssh[0],
            create: renderClusterScript(args.settings),
            delete: renderRemoveVipScript(),
        }, { parent: this, dependsOn: members });

        this.vip = pulumi.output(args.settings.vip);
        this.clusterName = pulumi.output(args.settings.clusterName);
        this.registerOutputs({ vip: this.vip, clusterName: this.clusterName });
    }
}
