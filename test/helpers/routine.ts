// Runs one of the local routines (components/*/routine.js) as Pulumi's command provider would:
// its plan in the environment, the SSH key on stdin, stand-ins first on its PATH.
import { spawn } from "child_process";
import * as path from "path";

export const THROWAWAY_ROUTINE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nthrowaway\n-----END OPENSSH PRIVATE KEY-----\n";

export function runRoutine(component: string, args: string[], spec: { pathFirst: string; env: Record<string, string>; key?: string; routine?: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(__dirname, "..", "..", "components", component, spec.routine ?? "routine.js"), ...args], {
            env: { ...process.env, PATH: `${spec.pathFirst}:${process.env.PATH}`, ...spec.env },
        });
        let stdout = "", stderr = "";
        child.stdout.on("data", (data) => { stdout += data; });
        child.stderr.on("data", (data) => { stderr += data; });
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(spec.key ?? THROWAWAY_ROUTINE_KEY);
    });
}
