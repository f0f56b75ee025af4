// Helpers shared by the end-to-end suites that run a cluster in the lab: the offline
// kubectl, a timed `pulumi up`, and the probe image the tests run in pods.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import { BLOCK_POOL } from "../../components/rook/render";
import { ROOT } from "../integration/project";
import { importImage, NODES, waitFor } from "./lab";

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

/** The steps of a preview or up other than "same" and reads, as "op name", in the order the engine began them. */
export function recorder() {
    const steps: string[] = [];
    return { steps, onEvent: (event: EngineEvent) => {
        const step = event.resourcePreEvent?.metadata;
        if (step && step.op !== "same" && step.op !== "read") steps.push(`${step.op} ${step.urn.split("::")[3]}`);
    } };
}

/** Whether https://address:6443/readyz answers 200 within 2 s (anonymous; the certificate is not checked). */
export function apiReady(address: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
        const request = https.get({ host: address, port: 6443, path: "/readyz", rejectUnauthorized: false, timeout: 2000 }, (response) => {
            response.resume();
            resolve(response.statusCode === 200);
        });
        request.on("timeout", () => request.destroy());
        request.on("error", () => resolve(false));
    });
}

/**
 * Asks https://address:6443/readyz every second from a process of its own (./api-probe.js), until
 * stopped; `stop` says the longest time without an answer and how many were missed.
 */
export function apiProbe(address: string): { stop(): Promise<{ longestGapSeconds: number; missed: number; asked: number }> } {
    const child = spawn(process.execPath, [path.join(__dirname, "api-probe.js"), address], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk) => { stdout += chunk; });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    return {
        stop: async () => {
            child.kill("SIGTERM");
            await exited;
            return JSON.parse(stdout.trim());
        },
    };
}

/** Samples a check every `everyMs` until stopped: how many samples failed and for how long in all. */
export function sampler(check: () => boolean, everyMs: number) {
    let failed = 0, samples = 0, failedMs = 0, last = Date.now(), running = true;
    const loop = (async () => {
        while (running) {
            const ok = (() => { try { return check(); } catch { return false; } })();
            const now = Date.now();
            samples++;
            if (!ok) { failed++; failedMs += now - last; }
            last = now;
            await new Promise((resolve) => setTimeout(resolve, everyMs));
        }
    })();
    return { stop: async () => { running = false; await loop; return { failed, samples, failedSeconds: failedMs / 1000 }; } };
}

/** The etcd snapshots kept for the lab stack in a scratch project (homelab:backups.directory is "backups" there). */
export function keptSnapshots(projectDir: string): string[] {
    const dir = path.join(projectDir, "backups", "lab");
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** What etcd's own etcdutl (the offline build's) says of the snapshot in a kept archive: {hash, revision, totalKey, totalSize, version}. */
export function snapshotStatus(archive: string, kubernetesVersion: string): { revision: number; totalKey: number; totalSize: number } {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-snapshot-"));
    try {
        execFileSync("tar", ["-xzf", archive, "-C", scratch, "snapshot.db"]);
        const etcdutl = path.join(OFFLINE, `kubernetes-v${kubernetesVersion}`, "bin", "etcdutl");
        return JSON.parse(execFileSync(etcdutl, ["snapshot", "status", path.join(scratch, "snapshot.db"), "--write-out=json"], { encoding: "utf8" }));
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** The operations of an up other than "same": empty when nothing changed. */
export function changes(summary: Record<string, number> | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([op, count]) => op !== "same" && count > 0));
}

/** Where the ceph and rbd CLIs find the cluster and the admin key in the operator's pod. */
const OPERATOR_ADMIN = ["--conf=/var/lib/rook/rook-ceph/rook-ceph.config", "--keyring=/var/lib/rook/rook-ceph/client.admin.keyring"];

/** The ceph CLI with the admin key, in the operator's pod (as Rook itself runs it), through a kubectl for reads. */
export function cephClient(kubectlRead: (...args: string[]) => string) {
    const ceph = (...args: string[]) => kubectlRead("-n", "rook-ceph", "exec", "deploy/rook-ceph-operator", "--", "ceph", ...OPERATOR_ADMIN, "--connect-timeout=20", ...args);
    const cephJson = (...args: string[]): any => JSON.parse(ceph(...args, "--format=json"));
    /** HEALTH_OK, HEALTH_WARN, HEALTH_ERR, or unreachable while Ceph (or the API) does not answer. */
    const health = (): string => {
        try {
            return cephJson("health").status;
        } catch {
            return "unreachable";
        }
    };
    return { ceph, cephJson, health };
}

/**
 * A CephFS claim (shared) and an RBD claim (block), and a pod on `node` that mounts the CephFS one at
 * /shared. The RBD claim is Bound but not mounted: the lab's machines have no rbd kernel module and
 * cephcsi-lite does not attach (see rbdImage for data on RBD).
 */
export function claimsAndUser(namespace: string, node: string, classes = { block: "ceph-block", filesystem: "ceph-filesystem" }): string {
    return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ${classes.filesystem}
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: block, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${classes.block}
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: user, namespace: ${namespace}}
spec:
  nodeName: ${node}
  containers:
    - name: user
      image: ${PROBE_IMAGE}
      imagePullPolicy: Never
      command: [/bin/sh, -c, 'exec sleep 100000']
      volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
    - {name: shared, persistentVolumeClaim: {claimName: shared}}
`;
}

/** The probe image on every node, a namespace, and claimsAndUser applied in it: the claims Bound and the pod Ready. */
export async function startClaimsAndUser(client: KubectlClient, namespace: string, node: string, manifestDir: string): Promise<void> {
    const archive = fs.readFileSync(PROBE_ARCHIVE);
    for (const { hostname } of NODES) importImage(hostname, archive);
    client.kubectl("create", "namespace", namespace);
    // pods are refused until the controller manager has made the namespace's default service account
    await waitFor("the namespace's default service account", () => client.tryKubectl("-n", namespace, "get", "serviceaccount", "default", "-o", "name") !== undefined, 120000, 2000);
    const manifest = path.join(manifestDir, "claims.yaml");
    fs.writeFileSync(manifest, claimsAndUser(namespace, node));
    client.kubectl("apply", "-f", manifest);
    for (const claim of ["shared", "block"]) {
        await waitFor(`claim ${claim} Bound`, () => client.tryKubectl("-n", namespace, "get", "pvc", claim, "-o", "jsonpath={.status.phase}") === "Bound", 300000, 5000);
    }
    client.kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/user", "--timeout=300s");
}

/**
 * The claims' user pod running, made again from claims.yaml when it has ended: it is a bare pod, and
 * a shutdown of its node ends such a pod for good (the kubelet's graceful shutdown marks it Failed;
 * no controller makes it again). Says whether it was made again.
 */
export function userRunning(client: KubectlClient, namespace: string, manifestDir: string): boolean {
    const phase = client.tryKubectl("-n", namespace, "get", "pod", "user", "-o", "jsonpath={.status.phase}");
    if (phase === "Running") return false;
    if (phase !== undefined) client.kubectl("-n", namespace, "delete", "pod", "user", "--wait=true");
    client.kubectl("apply", "-f", path.join(manifestDir, "claims.yaml"));
    client.kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/user", "--timeout=300s");
    return true;
}

/**
 * A test's own image in the block pool, written and read through librbd in the operator's pod: data
 * on RBD that survives what the test does to the lab (the machines cannot map RBD themselves).
 */
export function rbdImage(client: KubectlClient, image: string) {
    const rbd = `rbd ${OPERATOR_ADMIN.join(" ")} --no-progress`;
    const spec = `${BLOCK_POOL}/${image}`;
    const inOperator = (run: (...args: string[]) => string, script: string) => run("-n", "rook-ceph", "exec", "deploy/rook-ceph-operator", "--", "sh", "-c", script);
    return {
        /** A new image of 1 MiB of random bytes (not retried: a second import would find the image there). */
        write: () => inOperator(client.kubectl, `head -c 1048576 /dev/urandom | ${rbd} import - ${spec}`),
        /** The image's sha256, read back whole. */
        readBack: () => inOperator(client.kubectlRead, `${rbd} export ${spec} - | sha256sum | cut -d' ' -f1`),
        remove: () => inOperator(client.kubectl, `${rbd} rm ${spec}`),
    };
}
