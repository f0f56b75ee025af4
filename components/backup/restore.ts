import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { Follows } from "../order";
import type { BackupNode } from "./index";
import { renderSnapshotScript } from "./render";
import {
    RECEIVE_SNAPSHOT_COMMAND, renderRestoreCheckHealthScript, renderRestoreCheckScript, renderRestoreDataScript,
    renderRestoreReleaseScript, renderRestoreStartScript, renderRestoreStopScript,
} from "./restore-render";

/** What the routine said of the restore it ran. */
export interface RestoreReport {
    file: string;
    takenAt: string;
    revision?: number;
    members: string[];
    /** The snapshot of the cluster as it was just before, kept beside the others. */
    before: string;
    at: string;
    seconds: number;
}

export interface ClusterRestoreArgs extends Follows {
    clusterName: string;
    /** Every control plane: each etcd member is restored. */
    controlPlanes: BackupNode[];
    /** The snapshot archive (absolute) and its sha256, as the config check read it. */
    file: string;
    sha256: string;
    /** Where the snapshot of the cluster as it is before the restore is kept, and how many of them. */
    directory: string;
    keep: number;
    user: pulumi.Input<string>;
    /** The SSH private key (a secret): the routine reads it on stdin. */
    privateKey: pulumi.Input<string>;
}

const ROUTINE = path.relative(process.cwd(), path.join(__dirname, "restore-routine.js"));

/**
 * Restores one etcd snapshot on every control plane, once: the step's trigger is the archive's
 * sha256, so a later up with the same snapshot named plans nothing, another snapshot restores again,
 * and removing the key restores nothing (the step has no delete).
 */
export class ClusterRestore extends pulumi.ComponentResource {
    readonly restored: pulumi.Output<RestoreReport>;
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: ClusterRestoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:ClusterRestore", name, {}, opts);
        const nodes = args.controlPlanes;
        const plan = pulumi.all([pulumi.all(nodes.map((node) => node.hostKey)), args.user]).apply(([hostKeys, user]) => JSON.stringify({
            user,
            cluster: args.clusterName,
            file: args.file,
            sha256: args.sha256,
            nodes: nodes.map((node, index) => ({ name: node.name, host: node.host, port: node.port, hostKey: hostKeys[index] })),
            receiveCommand: RECEIVE_SNAPSHOT_COMMAND,
            scripts: {
                check: renderRestoreCheckScript(),
                data: renderRestoreDataScript(),
                stop: renderRestoreStopScript(),
                start: renderRestoreStartScript(),
                health: renderRestoreCheckHealthScript(),
                release: renderRestoreReleaseScript(),
            },
            snapshot: { directory: args.directory, keep: args.keep, script: renderSnapshotScript({ clusterName: args.clusterName }) },
        }));
        const restore = new command.local.Command(`${name}-etcd`, {
            create: `node ${ROUTINE}`,
            // a moved archive, a new address or key: recorded, nothing restored again
            update: "true",
            environment: { HOMELAB_RESTORE_PLAN: plan },
            stdin: pulumi.secret(args.privateKey),
            triggers: [args.sha256],
            logging: "stdoutAndStderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: args.after });
        this.restored = restore.stdout.apply((stdout) => JSON.parse(stdout.trim().split("\n").pop() || "{}") as RestoreReport);
        this.ready = [restore];
        this.registerOutputs({ restored: this.restored });
    }
}
