// Pulumi mocks that record every registered resource, for structure tests.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    urn: string;
    /** Names of the resources this one was given in dependsOn. */
    dependsOn: string[];
    /** Name of its parent resource. */
    parent?: string;
    /** Replacement order: true when the old resource is deleted before its replacement is created. */
    deleteBeforeReplace?: boolean;
    /** Outputs the program itself marks secret. */
    additionalSecretOutputs?: string[];
    /** Inputs left out of the diff. */
    ignoreChanges?: string[];
    /** Pulumi refuses to delete or replace it. */
    protect?: boolean;
}

/** What each resource was constructed with, recorded by a stack transformation (the mocks do not see options). */
const options = new Map<string, Pick<Registered, "dependsOn" | "parent" | "deleteBeforeReplace" | "additionalSecretOutputs" | "ignoreChanges" | "protect">>();

/** stdout the mocks give a command, by resource name (e.g. a kubeconfig for the step that reads it). */
export const mockStdout = new Map<string, string>();

function namesOf(dependsOn: unknown): string[] {
    const list = Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : [];
    return list.map((resource) => (resource as { __name?: string }).__name ?? "?");
}

export const registered: Registered[] = [];

export function installMocks(): void {
    pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const recorded = options.get(args.name) ?? { dependsOn: [] };
            registered.push({ type: args.type, name: args.name, inputs: args.inputs, urn: `${args.type}::${args.name}`, ...recorded });
            const state: Record<string, any> = { ...args.inputs };
            if (args.type === "command:remote:Command" || args.type === "command:local:Command") {
                state.stdout = mockStdout.get(args.name) ?? "";
                state.stderr = "";
            }
            if (args.type === "random:index/randomBytes:RandomBytes") state.base64 = Buffer.alloc(args.inputs.length ?? 32, 7).toString("base64");
            if (args.type === "random:index/randomString:RandomString" || args.type === "random:index/randomPassword:RandomPassword") state.result = "a".repeat(args.inputs.length ?? 16);
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    }, "homelab", "test", true);
    // The mocks do not see resource options; record them where every resource passes through.
    const runtimeResource = require("@pulumi/pulumi/runtime/resource");
    const register = runtimeResource.registerResource;
    runtimeResource.registerResource = function (res: unknown, parent: { __name?: string } | undefined, type: string, name: string, ...rest: any[]) {
        const opts = rest[4] as pulumi.CustomResourceOptions; // after custom, remote, newDependency, props
        options.set(name, {
            dependsOn: namesOf(opts.dependsOn), parent: parent?.__name, deleteBeforeReplace: opts.deleteBeforeReplace,
            additionalSecretOutputs: opts.additionalSecretOutputs, ignoreChanges: opts.ignoreChanges, protect: opts.protect,
        });
        return register.call(this, res, parent, type, name, ...rest);
    };
}

export function byName(name: string): Registered {
    const found = registered.find((resource) => resource.name === name);
    if (!found) throw new Error(`no resource named ${name}; registered: ${registered.map((r) => r.name).join(", ")}`);
    return found;
}

export function resetRegistered(): void {
    registered.length = 0;
}

/** The value of an output, for assertions (mocks resolve outputs during tests). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => { resolve(value); return value; }));
}

export function isSecretOutput(output: pulumi.Output<unknown>): Promise<boolean> {
    return (output as any).isSecret as Promise<boolean>;
}

/** Waits for the mock engine to see every resource registered so far. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

/** The plain value of an input the mocks received as a secret; fails when it was not secret. */
export function secretValue(input: unknown): unknown {
    const wrapped = input as Record<string, unknown> | undefined;
    if (!wrapped || typeof wrapped !== "object" || !(SECRET_SIGNATURE in wrapped)) throw new Error(`expected a secret, got ${JSON.stringify(input)}`);
    return wrapped.value;
}
