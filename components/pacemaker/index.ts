import * as pulumi from "@pulumi/pulumi";
import { Follows } from "../order";
import { describeArgProblems } from "../problems";
import { remoteScript, SshTarget } from "../remote";
import { randomHex } from "../secret";
import {
    AUTHKEY_BYTES, memberProblems, renderClusterScript, renderMemberScript, renderPackagesScript, renderRemoveMemberScript, renderRemoveVipScript, VipSettings,
} from "./render";

export interface PacemakerVipArgs extends Follows {
    /** Everything the rendered files need: members, VIP, interface, policy. */
    settings: VipSettings;
    /**
     * How to reach each member, in the order of settings.members, and what its own steps wait for,
     * e.g. [{ ssh, after: network.ready }]: a member starts corosync once its node's internal network is up.
     */
    members: (Follows & { ssh: SshTarget })[];
}

/** A corosync/pacemaker cluster over the control planes, holding an IPaddr2 VIP for the Kubernetes API. */
export class PacemakerVip extends pulumi.ComponentResource {
    readonly vip: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    /** Complete when the VIP runs on a member. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: PacemakerVipArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:PacemakerVip", name, {}, opts);
        if (args.members.length !== args.settings.members.length) {
            throw new pulumi.ResourceError(`PacemakerVip ${name}: ${args.settings.members.length} members in settings but ${args.members.length} to reach`, this);
        }
        const problems = memberProblems(args.settings);
        if (problems.length > 0) throw new pulumi.ResourceError(describeArgProblems(`PacemakerVip ${name}`, problems.map((problem) => ({ ...problem, arg: `settings.${problem.arg}` }))), this);
        // corosync's shared key, handed to each member as base64 on stdin
        const authkey = randomHex(`${name}-authkey`, AUTHKEY_BYTES, { parent: this }).apply((hex) => Buffer.from(hex, "hex").toString("base64"));

        const members: pulumi.Resource[] = [];
        args.settings.members.forEach((member, index) => {
            const after = [...(args.after ?? []), ...(args.members[index].after ?? [])];
            const packages = remoteScript(`${name}-packages-${member.hostname}`, {
                target: args.members[index].ssh,
                create: renderPackagesScript(),
            }, { parent: this, dependsOn: after });
            members.push(remoteScript(`${name}-member-${member.hostname}`, {
                target: args.members[index].ssh,
                create: renderMemberScript(args.settings, member.hostname),
                delete: renderRemoveMemberScript(),
                stdin: authkey,
            }, {
                parent: this,
                // its packages installed; members one at a time, so that a member that must restart
                // (a new key or node id) is back in the membership before the next one restarts
                dependsOn: [packages, ...after, ...members.slice(-1)],
            }));
        });

        // The VIP is configured once every member runs corosync with the same key and membership.
        this.ready = [remoteScript(`${name}-vip`, {
            target: args.members[0].ssh,
            create: renderClusterScript(args.settings),
            delete: renderRemoveVipScript(),
        }, { parent: this, dependsOn: members })];

        this.vip = pulumi.output(args.settings.vip);
        this.clusterName = pulumi.output(args.settings.clusterName);
        this.registerOutputs({ vip: this.vip, clusterName: this.clusterName });
    }
}
