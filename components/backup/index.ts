import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { Follows } from "../order";
import { renderSnapshotScript } from "./render";

export { snapshotDue, snapshotFileName, snapshotTakenAt } from "./render";
export { ClusterRestore, RestoreReport } from "./restore";

/** What the routine said of the snapshot it last took. */
export interface SnapshotReport {
    /** e.g. /home/me/.local/share/homelab/backups/homelab/homelab-etcd-20261205T235200Z.tar.gz */
    file: string;
    node: string;
    at: string;
    bytes: number;
    revision?: number;
}

export interface BackupNode {
    /** e.g. home-server-1 */
    name: string;
    host: string;
    port: number;
    /** The host key every connection checks (BareMetalNode's recorded or pinned key). */
    hostKey: pulumi.Input<string>;
}

export interface ClusterBackupArgs extends Follows {
    clusterName: string;
    /** The control planes, tried in this order until one answers. */
    controlPlanes: BackupNode[];
    /** Where the snapshots are kept on this machine (absolute), e.g. ~/.local/share/homelab/backups/homelab. */
    directory: string;
    /** How many of this cluster's snapshots to keep there; older ones are removed after a new one is checked. */
    keep: number;
    /** Snapshots (file names) never removed however old: the one backups.restoreFrom names, while it does. */
    spare?: string[];
    /** Why this up takes a snapshot (snapshotDue), or undefined: none is taken. */
    due?: string;
    user: pulumi.Input<string>;
    /** The SSH private key (a secret): the routine reads it on stdin. */
    privateKey: pulumi.Input<string>;
}

const ROUTINE = path.relative(process.cwd(), path.join(__dirname, "routine.js"));

/**
 * etcd snapshots with the cluster's PKI, off the cluster: an up takes one on a control plane and
 * keeps it on the machine running Pulumi when one is due (none yet, the newest older than the
 * interval, or a planned power-off next); otherwise nothing is planned and nothing runs. Snapshots
 * outlive the stack: a destroy removes none.
 */
export class ClusterBackup extends pulumi.ComponentResource {
    /** The snapshot the routine last took. */
    readonly lastSnapshot: pulumi.Output<SnapshotReport>;
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: ClusterBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:ClusterBackup", name, {}, opts);
        const nodes = args.controlPlanes;
        const plan = pulumi.all([pulumi.all(nodes.map((node) => node.hostKey)), args.user]).apply(([hostKeys, user]) => JSON.stringify({
            user,
            cluster: args.clusterName,
            directory: args.directory,
            keep: args.keep,
            spare: args.spare ?? [],
            nodes: nodes.map((node, index) => ({ name: node.name, host: node.host, port: node.port, hostKey: hostKeys[index] })),
            // every control plane holds the whole of etcd: one script serves them all
            script: renderSnapshotScript({ clusterName: args.clusterName }),
        }));
        const snapshot = new command.local.Command(`${name}-snapshot`, {
            create: `node ${ROUTINE}`,
            // a new address, key, directory or count is recorded without taking a snapshot
            update: "true",
            environment: { HOMELAB_BACKUP_PLAN: plan },
            stdin: pulumi.secret(args.privateKey),
            triggers: [args.due ?? "not due"],
            logging: "stdoutAndStderr",
            addPreviousOutputInEnv: false,
        }, {
            parent: this,
            dependsOn: args.after,
            // not due: whatever the last reason was, it has been served
            ignoreChanges: args.due ? [] : ["triggers"],
        });
        this.lastSnapshot = snapshot.stdout.apply((stdout) => JSON.parse(stdout.trim().split("\n").pop() || "{}") as SnapshotReport);
        this.ready = [snapshot];
        this.registerOutputs({ lastSnapshot: this.lastSnapshot });
    }
}
