// What every component needs to run a script on a node over SSH.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { asRoot } from "./script";

// Script helpers live in ./script (pure, no SDK); re-exported for callers that want one import.
export * from "./script";

/** How to reach one node over SSH. */
export interface SshTarget {
    /** Address the machine running Pulumi uses, e.g. 192.168.10.101. */
    host: pulumi.Input<string>;
    /** e.g. 22 */
    port: pulumi.Input<number>;
    /** A user with passwordless sudo, e.g. homeuser. */
    user: pulumi.Input<string>;
    /** OpenSSH private key (a Pulumi secret). */
    privateKey: pulumi.Input<string>;
    /** Pinned host key line ("ssh-ed25519 AAAA..."); the connection fails if the node shows another. */
    hostKey?: pulumi.Input<string>;
    /** How long to keep trying to connect, in seconds. */
    connectTimeoutSeconds?: number;
}

export function connectionOf(target: SshTarget): command.types.input.remote.ConnectionArgs {
    const perDialTimeout = 5;
    return {
        host: target.host,
        port: target.port,
        user: target.user,
        privateKey: pulumi.secret(target.privateKey),
        hostKey: target.hostKey,
        perDialTimeout,
        dialErrorLimit: Math.max(1, Math.ceil((target.connectTimeoutSeconds ?? 20) / perDialTimeout)),
    };
}

export interface RemoteScriptArgs {
    target: SshTarget;
    /** Rendered script run on create (and on update when its inputs change). */
    create: pulumi.Input<string>;
    /** Rendered script run on delete. */
    delete?: pulumi.Input<string>;
    /** Secret material handed to the script on stdin, never in the command line. */
    stdin?: pulumi.Input<string>;
    /** Changes here replace the command, so create runs again. */
    triggers?: pulumi.Input<any[]>;
    /** Keep stdout out of the logs and mark it secret (e.g. a kubeconfig). */
    secretStdout?: boolean;
}

/** One script on one node, run as root with sudo. */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(name, {
        connection: connectionOf(args.target),
        create: pulumi.output(args.create).apply(asRoot),
        delete: args.delete === undefined ? undefined : pulumi.output(args.delete).apply(asRoot),
        stdin: args.stdin === undefined ? undefined : pulumi.secret(args.stdin),
        triggers: args.triggers,
        logging: args.secretStdout ? "stderr" : "stdoutAndStderr",
        addPreviousOutputInEnv: false,
    }, args.secretStdout ? { ...opts, additionalSecretOutputs: ["stdout"] } : opts);
}
