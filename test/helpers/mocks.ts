// Pulumi mocks that record every registered resource, for structure tests.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    urn: string;
}

export const registered: Registered[] = [];

export function installMocks(): void {
    pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs, urn: `${args.type}::${args.name}` });
            const state: Record<string, any> = { ...args.inputs };
            if (args.type === "command:remote:Command" || args.type === "command:local:Command") {
                state.stdout = "";
                state.stderr = "";
            }
            if (args.type === "random:index/randomBytes:RandomBytes") state.base64 = Buffer.alloc(args.inputs.length ?? 32, 7).toString("base64");
            if (args.type === "random:index/randomString:RandomString") state.result = "a".repeat(args.inputs.length ?? 16);
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    }, "homelab", "test", true);
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
