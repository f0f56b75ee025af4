// The Pulumi half of the manifests: a local file staged on a node (air-gapped), and a bundle
// applied on the admin node. The scripts are rendered in ./render, the files found in ./sources.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { connectionOf, remoteScript, SshTarget } from "../remote";
import { ManifestBundle, renderApplyBundleScript, renderDeleteBundleScript, stagingPath } from "./render";

export * from "./render";
export * from "./sources";

/**
 * Copies a local file to `remotePath` on a node (CopyToRemote runs as the SSH user, not root, so
 * it lands in a staging path); the script that uses it installs it and checks its sha256.
 */
export function stageLocalFile(name: string, args: { target: SshTarget; localPath: string; remotePath: string }, opts: pulumi.CustomResourceOptions): command.remote.CopyToRemote {
    return new command.remote.CopyToRemote(name, {
        connection: connectionOf(args.target),
        source: new pulumi.asset.FileAsset(args.localPath),
        remotePath: args.remotePath,
    }, opts);
}

/** Copies local files (air-gapped) and applies the bundle on the admin node; returns the apply step. */
export function applyManifestBundle(
    name: string,
    args: { target: SshTarget; bundle: ManifestBundle; dependsOn?: pulumi.Resource[] },
    opts: { parent: pulumi.Resource },
): command.remote.Command {
    const copies = args.bundle.files.filter((file) => file.localPath).map((file) => stageLocalFile(`${name}-copy-${file.name.replace(/\.ya?ml$/, "")}`, {
        target: args.target, localPath: file.localPath as string, remotePath: stagingPath(args.bundle, file),
    }, { parent: opts.parent, dependsOn: args.dependsOn }));
    return remoteScript(name, {
        target: args.target,
        create: renderApplyBundleScript(args.bundle),
        delete: renderDeleteBundleScript(args.bundle),
    }, {
        parent: opts.parent,
        // the caller's prerequisites (a running cluster), and the copied files the script installs
        dependsOn: [...(args.dependsOn ?? []), ...copies],
    });
}
