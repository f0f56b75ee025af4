// What every component needs to run a script on a node over SSH.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

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

/** The first lines of every script that runs on a node. */
export const PRELUDE = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "export DEBIAN_FRONTEND=noninteractive",
].join("\n");

/** Joins script sections under the prelude; sections are separated by a blank line. */
export function script(...sections: string[]): string {
    return [PRELUDE, ...sections.map((section) => section.trim())].join("\n\n") + "\n";
}

/** Quotes a value for bash: the result is one word whatever the value holds. */
export function shellQuote(value: string | number): string {
    const text = String(value);
    if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A bash heredoc that writes `content` to `path` with `mode`, only if it differs; sets CHANGED=1 when it wrote. */
export function writeFileIfChanged(path: string, content: string, mode: string): string {
    const marker = "HOMELAB_EOF";
    if (content.includes(marker)) throw new Error(`file content for ${path} contains the heredoc marker ${marker}`);
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return [
        `homelab_new=$(mktemp)`,
        `cat > "$homelab_new" <<'${marker}'`,
        `${body}${marker}`,
        `if ! cmp -s "$homelab_new" ${shellQuote(path)}; then`,
        `  install -D -m ${mode} "$homelab_new" ${shellQuote(path)}`,
        `  CHANGED=1`,
        `fi`,
        `rm -f "$homelab_new"`,
    ].join("\n");
}

/** A bash function `retry TRIES DELAY CMD...` that retries a command with a bounded number of tries. */
export const RETRY_FUNCTION = `retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}`;

/** The command line that runs a rendered script as root: the script travels in the command, stdin stays free for secrets. */
export function asRoot(renderedScript: string): string {
    return `sudo -n bash -c ${shellQuote(renderedScript)}`;
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
