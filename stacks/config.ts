// The one place that reads stack config. Everything is validated before any
// resource is registered, and every problem is reported in one error.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { interfaceName } from "../components/vlan/render";
import { partialConfig } from "./partial";
import { inspectRestoreSource, RestoreSource, restoreFile } from "./restore-source";
import { crossFieldProblems, ConfigProblem } from "./rules";
import { configSchema, ParsedConfig } from "./schema";

export { ConfigProblem } from "./rules";
export const NAMESPACE = "homelab";
const SECRET_KEY = "sshPrivateKey";
/** Top-level keys whose value is text; every other key holds YAML structure. */
const TEXT_KEYS = new Set(["clusterName", "power", SECRET_KEY]);

export interface HomelabConfig extends ParsedConfig {
    /** The SSH private key for every node, always a Pulumi secret. */
    sshPrivateKey: pulumi.Output<string>;
    /** The snapshot backups.restoreFrom names, read and checked on this machine. */
    restore?: RestoreSource;
    /** Facts derived from the config, computed once here. */
    derived: {
        /** Prefix length of network.cidr, as netplan and IPaddr2 want it. */
        prefixLength: number;
        /** The interface that carries the internal address: enp3s0, enp3s0.2, bond0 or bond0.2. */
        internalInterface: string;
        controlPlanes: ParsedConfig["nodes"];
        workers: ParsedConfig["nodes"];
        /** Where this cluster's snapshots are kept: backups.directory made absolute, then the cluster's name. */
        backupDirectory: string;
    };
    /** Things that are allowed but worth saying at preview. */
    warnings: string[];
}

export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: ConfigProblem[]) {
        super(formatProblems(problems));
    }
}

export function formatProblem(problem: ConfigProblem): string {
    return `${NAMESPACE}:${problem.key}: ${JSON.stringify(problem.value)} ${problem.message}`;
}

export function formatProblems(problems: ConfigProblem[]): string {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    return [`stack config has ${count}; nothing was changed:`, ...problems.map((p) => `  - ${formatProblem(p)}`)].join("\n");
}

function keyOf(path: PropertyKey[]): string {
    return path.reduce<string>((key, part) => (typeof part === "number" ? `${key}[${part}]` : key ? `${key}.${String(part)}` : String(part)), "");
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
    return path.reduce<unknown>((value, part) => (value !== null && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[part] : undefined), raw);
}

function schemaProblems(error: z.ZodError, raw: Record<string, unknown>): ConfigProblem[] {
    return error.issues.flatMap((issue): ConfigProblem[] => {
        if (issue.code === "unrecognized_keys") {
            return issue.keys.map((unknownKey) => ({
                key: keyOf([...issue.path, unknownKey]),
                value: valueAt(raw, [...issue.path, unknownKey]),
                message: "is not a known key; see Pulumi.yaml for the keys and their meaning",
            }));
        }
        if (issue.code === "invalid_key") {
            // a record's key is wrong: show the key itself, with what the key schema said of it
            const badKey = issue.path[issue.path.length - 1];
            return [{ key: keyOf(issue.path.slice(0, -1)), value: badKey, message: issue.issues[0]?.message ?? issue.message }];
        }
        const value = valueAt(raw, issue.path);
        const message = value === undefined ? "is missing; it is required (see Pulumi.yaml)" : issue.message;
        return [{ key: keyOf(issue.path), value: value ?? null, message }];
    });
}

/** Pure: validates raw config values (already parsed from YAML) and derives the typed config. */
export function parseConfig(raw: Record<string, unknown>): { config?: Omit<HomelabConfig, "sshPrivateKey">; problems: ConfigProblem[] } {
    const parsed = configSchema.safeParse(raw);
    if (!parsed.success) {
        // every problem at once: the rules that relate several values run too, on what is well-formed (partial.ts)
        const partial = partialConfig(configSchema, raw, parsed.error.issues);
        return { problems: [...schemaProblems(parsed.error, raw), ...crossFieldProblems(partial)] };
    }
    const config = parsed.data;
    const problems = crossFieldProblems(config);
    if (problems.length > 0) return { problems };

    const warnings: string[] = [];
    if (!config.vip.stonithEnabled) {
        warnings.push(`${NAMESPACE}:vip.stonithEnabled is false: Pacemaker will not fence a hung node, which can then keep the VIP. That is the usual choice for a home lab without fence devices.`);
    } else {
        warnings.push(`${NAMESPACE}:vip.stonithEnabled is true: Pacemaker starts no resource, the VIP included, until you add a fence device (pcs stonith create ...). Set it to false if the lab has no fence devices.`);
    }
    return {
        problems,
        config: {
            ...config,
            derived: {
                prefixLength: ipaddr.IPv4.parseCIDR(config.network.cidr)[1],
                internalInterface: interfaceName(config.network),
                controlPlanes: config.nodes.filter((node) => node.role === "control-plane"),
                workers: config.nodes.filter((node) => node.role === "worker"),
                backupDirectory: path.join(localPath(config.backups.directory), config.clusterName),
            },
            warnings,
        },
    };
}

/** Reads the `homelab:*` keys of a runtime config map and parses YAML structure where it is expected. */
export function rawFromRuntimeConfig(all: Record<string, string>): { raw: Record<string, unknown>; sshPrivateKey?: string; problems: ConfigProblem[] } {
    const raw: Record<string, unknown> = {};
    const problems: ConfigProblem[] = [];
    let sshPrivateKey: string | undefined;
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
        const key = fullKey.slice(NAMESPACE.length + 1);
        if (key === SECRET_KEY) sshPrivateKey = text;
        else if (TEXT_KEYS.has(key)) raw[key] = text;
        else {
            try {
                raw[key] = JSON.parse(text);
            } catch {
                problems.push({ key, value: text, message: "is not structured config; expected a YAML mapping or list as documented in Pulumi.yaml" });
            }
        }
    }
    return { raw, sshPrivateKey, problems };
}

/** A path on this machine as the config writes it: absolute, ~/ for home, or relative to the project. */
export function localPath(value: string): string {
    return value === "~" || value.startsWith("~/") ? path.join(os.homedir(), value.slice(2)) : path.resolve(value);
}

/** The snapshot backups.restoreFrom names, checked; read from the raw values when other keys are wrong, so that its problems are listed with theirs. */
export function readRestoreSource(raw: Record<string, unknown>, config: Omit<HomelabConfig, "sshPrivateKey"> | undefined): { source?: RestoreSource; problems: ConfigProblem[] } {
    const backups = (raw.backups ?? {}) as { restoreFrom?: unknown; directory?: unknown };
    const restoreFrom = config ? config.backups.restoreFrom : backups.restoreFrom;
    const clusterName = config ? config.clusterName : raw.clusterName;
    if (typeof restoreFrom !== "string" || restoreFrom === "" || typeof clusterName !== "string") return { problems: [] };
    const directory = config ? config.derived.backupDirectory
        : path.join(localPath(typeof backups.directory === "string" ? backups.directory : configSchema.shape.backups.parse({}).directory), clusterName);
    return inspectRestoreSource(restoreFrom, restoreFile(restoreFrom, directory, localPath), clusterName);
}

/** Where the SSH key came from, for messages that must not show it. */
export interface KeySource {
    key: string;
    shown: string;
}

/** The key from homelab:sshPrivateKey, or read from ssh.privateKeyFile (relative to the project, ~ for home). */
export function readPrivateKey(raw: Record<string, unknown>, secretKey: string | undefined): { key?: string; source: KeySource; problems: ConfigProblem[] } {
    const file = (raw.ssh as { privateKeyFile?: unknown } | undefined)?.privateKeyFile;
    if (typeof file !== "string") return { key: secretKey, source: { key: SECRET_KEY, shown: "[secret]" }, problems: [] };
    const source = { key: "ssh.privateKeyFile", shown: file };
    if (secretKey) return { source, problems: [{ key: "ssh.privateKeyFile", value: file, message: `is set as well as ${NAMESPACE}:${SECRET_KEY}; keep one of them` }] };
    const resolved = localPath(file);
    try {
        return { key: fs.readFileSync(resolved, "utf8"), source, problems: [] };
    } catch (error) {
        return { source, problems: [{ key: "ssh.privateKeyFile", value: file, message: `cannot be read (${(error as NodeJS.ErrnoException).code}); expected a private key file on this machine, like ~/.ssh/id_ed25519` }] };
    }
}

/** Problems with the SSH key itself; the key is never shown. */
export function privateKeyProblems(key: string | undefined, source: KeySource = { key: SECRET_KEY, shown: "[secret]" }): ConfigProblem[] {
    if (!key || key.trim() === "") {
        return [{ key: SECRET_KEY, value: null, message: `is missing; set it with: pulumi config set --secret ${NAMESPACE}:${SECRET_KEY} < ~/.ssh/id_ed25519 (or set ${NAMESPACE}:ssh.privateKeyFile)` }];
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
        return [{ key: source.key, value: source.shown, message: "is not a PEM or OpenSSH private key; expected the contents of a file such as ~/.ssh/id_ed25519" }];
    }
    return [];
}

/** Whether the engine handed this key to the program as a secret (not in the SDK's typings, but part of its runtime). */
function runtimeIsSecret(key: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean }).isConfigSecret(key);
}

/** Reads and validates the stack config; throws one ConfigError listing every problem. */
export function loadConfig(all: Record<string, string> = pulumi.runtime.allConfig(), isSecret: (key: string) => boolean = runtimeIsSecret): HomelabConfig {
    const { raw, sshPrivateKey: secretKey, problems: readProblems } = rawFromRuntimeConfig(all);
    if (secretKey && !isSecret(`${NAMESPACE}:${SECRET_KEY}`)) {
        readProblems.push({ key: SECRET_KEY, value: "[not shown]", message: `is stored in plaintext in the stack file; remove it and set it with: pulumi config set --secret ${NAMESPACE}:${SECRET_KEY} < ~/.ssh/id_ed25519` });
    }
    const { key, source, problems: keyReadProblems } = readPrivateKey(raw, secretKey);
    const keyProblems = keyReadProblems.length > 0 ? keyReadProblems : privateKeyProblems(key, source);
    const { config, problems } = parseConfig(raw);
    const { source: restore, problems: restoreProblems } = readRestoreSource(raw, config);
    const allProblems = [...readProblems, ...keyProblems, ...problems, ...restoreProblems];
    if (!config || allProblems.length > 0) throw new ConfigError(allProblems);
    return { ...config, sshPrivateKey: pulumi.secret(key as string), ...(restore ? { restore } : {}) };
}
