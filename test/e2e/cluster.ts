// Helpers shared by the end-to-end suites that run a cluster in the lab: the offline
// kubectl, a timed `pulumi up`, and the probe image the tests run in pods.
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import { ROOT } from "../integration/project";

export const OFFLINE = process.env.HOMELAB_OFFLINE_CACHE ?? path.join(os.homedir(), ".cache", "homelab", "offline");
/** A busybox image from Debian (test/e2e/probe-image.sh), imported into machines as an air-gapped user would. */
export const PROBE_ARCHIVE = path.join(ROOT, ".lab", "probe", "probe.tar");
export const PROBE_IMAGE = "homelab.test/probe:1";

/** The kubectl the offline Kubernetes build made, for that version. */
export function offlineKubectl(kubernetesVersion: string): string {
    return path.join(OFFLINE, `kubernetes-v${kubernetesVersion}`, "bin", "kubectl");
}

export interface KubectlClient {
    kubectl(...args: string[]): string;
    /** undefined where kubectl fails, e.g. while the API is away. */
    tryKubectl(...args: string[]): string | undefined;
    kubectlJson(...args: string[]): any;
    /** kubectl, tried again after an error of the API's connection (not of the request): for reads only. */
    kubectlRead(...args: string[]): string;
}

/** The API server or its VIP went away for a moment (a restart or failover on the loaded lab), not a refusal. */
const TRANSIENT = /connection reset by peer|connection refused|i\/o timeout|TLS handshake timeout|unexpected EOF|unable to upgrade connection|the server is currently unable|etcdserver: request timed out|Client\.Timeout exceeded/;

function pause(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** kubectl against the kubeconfig at a path known only once the stack is up. */
export function kubectlClient(binary: string, kubeconfigFile: () => string, requestTimeout: string): KubectlClient {
    const kubectl = (...args: string[]) =>
        execFileSync(binary, ["--kubeconfig", kubeconfigFile(), `--request-timeout=${requestTimeout}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    return {
        kubectl,
        tryKubectl: (...args) => {
            try {
                return kubectl(...args);
            } catch {
                return undefined;
            }
        },
        kubectlJson: (...args) => JSON.parse(kubectl(...args, "-o", "json")),
        kubectlRead: (...args) => {
            for (let attempt = 1; ; attempt++) {
                try {
                    return kubectl(...args);
                } catch (error) {
                    if (attempt === 3 || !TRANSIENT.test(String((error as { stderr?: string }).stderr ?? error))) throw error;
                    pause(5000);
                }
            }
        },
    };
}

/** `pulumi up`, logging its change summary and wall time. */
export async function timedUp(stack: Stack, log: (line: string) => void, onEvent?: (event: EngineEvent) => void): Promise<UpResult> {
    const started = Date.now();
    const result = await stack.up({ onOutput: () => undefined, onEvent, color: "never" });
    log(`pulumi up: ${JSON.stringify(result.summary.resourceChanges)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
}

/** The operations of an up other than "same": empty when nothing changed. */
export function changes(summary: Record<string, number> | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([op, count]) => op !== "same" && count > 0));
}
