// What every component needs to run a script on a node over SSH.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { asRoot } from "./script";
import { renderStep } from "./step";

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
    /**
     * The node's host key line ("ssh-ed25519 AAAA..."): pinned in the stack config, or the one
     * BareMetalNode recorded at first contact. Every connection fails if the node shows another.
     */
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
    /** Rendered script run on create (and on update when it or its stdin changes). */
    create: pulumi.Input<string>;
    /** Rendered script run on delete. */
    delete?: pulumi.Input<string>;
    /** Secret material handed to the script on stdin, never in the command line. */
    stdin?: pulumi.Input<string>;
    /** Changes here replace the command, so create runs again. */
    triggers?: pulumi.Input<any[]>;
}

/**
 * One step on one node, run as root with sudo: its script runs on create, and on update only when
 * the script or its stdin changed (./step records on the node what completed), so a change of how
 * the node is reached re-runs nothing.
 */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const script = pulumi.output(args.create);
    return new command.remote.Command(name, {
        connection: connectionOf(args.target),
        create: script.apply((text) => asRoot(renderStep(name, text, "create"))),
        update: script.apply((text) => asRoot(renderStep(name, text, "update"))),
        delete: args.delete === undefined ? undefined : pulumi.output(args.delete).apply(asRoot),
        stdin: args.stdin === undefined ? undefined : pulumi.secret(args.stdin),
        triggers: args.triggers,
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
    }, opts);
}

/**
 * A step that exists only for what its delete does (power off, wipe, wait for cleanup): nothing
 * runs on create or update, and it is ordered by its dependencies so that its delete comes at
 * the right moment of a destroy.
 */
export function deleteOnlyStep(name: string, args: { target: SshTarget; delete: pulumi.Input<string> }, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(name, {
        connection: connectionOf(args.target),
        create: "true",
        update: "true",
        delete: pulumi.output(args.delete).apply(asRoot),
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
    }, opts);
}

/**
 * Reads a secret from a node once (the admin kubeconfig): stdout is secret and kept out of the
 * logs. Its connection is left out of the diff: a new SSH key, timeout or address must not
 * re-read it, because a value being re-read is unknown during preview, and the Kubernetes
 * providers that take it would then plan to replace every resource they manage. It is read
 * again when its script or its triggers change (through the connection it was first read with).
 */
export function readSecret(name: string, args: { target: SshTarget; create: pulumi.Input<string>; triggers?: pulumi.Input<any[]> }, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(name, {
        connection: connectionOf(args.target),
        create: pulumi.output(args.create).apply(asRoot),
        triggers: args.triggers,
        logging: "stderr",
        addPreviousOutputInEnv: false,
    }, { ...opts, additionalSecretOutputs: ["stdout"], ignoreChanges: ["connection", ...(opts.ignoreChanges ?? [])] });
}
