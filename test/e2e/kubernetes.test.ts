// End to end, Kubernetes on the simulated lab (npm run test:e2e:kubernetes): from
// every machine powered off, one `pulumi up` of the lab stack with the Kubernetes
// and Calico stages on, air-gapped from the lab's mirror; then the cluster is
// used for real: nodes Ready, system pods Running, pod-to-pod across nodes, DNS,
// the API through the VIP while its holder is off, and destroy.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UpResult } from "@pulumi/pulumi/automation";
import { ROOT, scratchProject, ScratchProject } from "../integration/project";
import { inside, isOn, lab, NODES, ssh, VIP, waitFor } from "./lab";

jest.setTimeout(60 * 60 * 1000);

const OFFLINE = process.env.HOMELAB_OFFLINE_CACHE ?? path.join(os.homedir(), ".cache", "homelab", "offline");
const KUBERNETES_VERSION = "1.37.2";
const KUBECTL = path.join(OFFLINE, `kubernetes-v${KUBERNETES_VERSION}`, "bin", "kubectl");
const PROBE_ARCHIVE = path.join(ROOT, ".lab", "probe", "probe.tar");
const PROBE_IMAGE = "homelab.test/probe:1";
const NAMESPACE = "homelab-e2e";

let project: ScratchProject;
let kubeconfigFile: string;
const log = (line: string) => process.stdout.write(`[e2e-k8s] ${line}\n`);

function changes(summary: Record<string, number> | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([op, count]) => op !== "same" && count > 0));
}

async function up(): Promise<UpResult> {
    const started = Date.now();
    const result = await project.stack.up({ onOutput: () => undefined, color: "never" });
    log(`pulumi up: ${JSON.stringify(result.summary.resourceChanges)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
}

function kubectl(...args: string[]): string {
    return execFileSync(KUBECTL, ["--kubeconfig", kubeconfigFile, "--request-timeout=20s", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function kubectlJson(...args: string[]): any {
    return JSON.parse(kubectl(...args, "-o", "json"));
}

function tryKubectl(...args: string[]): string | undefined {
    try {
        return kubectl(...args);
    } catch {
        return undefined;
    }
}

const readyNodes = () => (kubectlJson("get", "nodes").items as any[])
    .filter((node) => node.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"))
    .map((node) => node.metadata.name).sort();

beforeAll(async () => {
    log("fresh lab: lab down --purge, lab up (all machines off)");
    lab("down", "--purge");
    lab("up");
    for (const node of NODES) expect(isOn(node.hostname)).toBe(false);
    project = await scratchProject("lab", { setKey: false });
    kubeconfigFile = path.join(project.dir, "kubeconfig");
});

afterAll(async () => {
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
});

describe("Kubernetes and Calico on the simulated lab", () => {
    test("1. one up from powered off: three Ready control planes behind the VIP, system pods Running, pod networking and DNS", async () => {
        const result = await up();
        expect(result.summary.result).toBe("succeeded");
        fs.writeFileSync(kubeconfigFile, result.outputs.kubeconfig.value, { mode: 0o600 });
        expect(result.outputs.kubeconfig.secret).toBe(true);
        expect(kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")).toBe(`https://${VIP}:6443`);

        await waitFor("every node Ready", () => readyNodes().length === NODES.length, 300000, 5000);
        expect(readyNodes()).toEqual(NODES.map((n) => n.hostname).sort());
        const controlPlanes = kubectl("get", "nodes", "-l", "node-role.kubernetes.io/control-plane", "-o", "name").split("\n");
        expect(controlPlanes).toHaveLength(NODES.length);
        const etcd = kubectl("-n", "kube-system", "get", "pods", "-l", "component=etcd", "-o", "name").split("\n");
        expect(etcd).toHaveLength(NODES.length);

        const notRunning = () => (kubectlJson("get", "pods", "-A").items as any[])
            .filter((pod) => pod.status.phase !== "Running" || !(pod.status.containerStatuses ?? []).every((c: any) => c.ready))
            .map((pod) => `${pod.metadata.namespace}/${pod.metadata.name} ${pod.status.phase}`);
        await waitFor("every system pod Running and ready", () => notRunning().length === 0, 300000, 5000)
            .catch((error) => { log(`not running: ${notRunning().join(", ")}`); throw error; });

        // a probe pod on every node (image imported like an air-gapped user would), a Service in front
        const archive = fs.readFileSync(PROBE_ARCHIVE);
        for (const node of NODES) {
            execFileSync(path.join(ROOT, "lab", "lab"), ["console", node.hostname, "ctr", "-n", "k8s.io", "images", "import", "-"], { input: archive, stdio: ["pipe", "ignore", "pipe"] });
        }
        kubectl("create", "namespace", NAMESPACE);
        const manifest = path.join(project.dir, "probe.yaml");
        fs.writeFileSync(manifest, probeManifest());
        kubectl("apply", "-f", manifest);
        kubectl("-n", NAMESPACE, "rollout", "status", "daemonset/probe", "--timeout=180s");
        const pods = (kubectlJson("-n", NAMESPACE, "get", "pods", "-l", "app=probe").items as any[])
            .map((pod) => ({ name: pod.metadata.name as string, node: pod.spec.nodeName as string, ip: pod.status.podIP as string }));
        expect(pods.map((pod) => pod.node).sort()).toEqual(NODES.map((n) => n.hostname).sort());
        for (const from of pods) {
            for (const to of pods.filter((pod) => pod.node !== from.node)) {
                const answer = httpGet(from.name, to.ip);
                expect(`${from.node} -> ${answer}`).toBe(`${from.node} -> ${to.name}`);
            }
            const resolved = kubectl("-n", NAMESPACE, "exec", from.name, "--", "nslookup", `probe.${NAMESPACE}.svc.cluster.local`);
            expect(resolved).toMatch(/Address:\s*\d+\.\d+\.\d+\.\d+/);
            const serviceIp = kubectl("-n", NAMESPACE, "get", "service", "probe", "-o", "jsonpath={.spec.clusterIP}");
            const viaService = httpGet(from.name, serviceIp);
            expect(pods.map((pod) => pod.name)).toContain(viaService);
        }
    });

    test("2. a second up changes nothing", async () => {
        const result = await up();
        expect(changes(result.summary.resourceChanges)).toEqual({});
    });

    test("3. the API keeps answering through the VIP while its holder is off; the node rejoins Ready", async () => {
        const holder = ssh(VIP, "hostname").stdout;
        expect(NODES.map((n) => n.hostname)).toContain(holder);
        lab("power-off", holder, "--hard");
        const answering = () => tryKubectl("get", "--raw", "/readyz") === "ok";
        const back = await waitFor("the API answering through the VIP from another node", () => answering() && ssh(VIP, "hostname", 2).stdout !== holder, 120000, 1000);
        log(`API answered through the VIP ${(back / 1000).toFixed(1)} s after ${holder} lost power`);
        // etcd with two of three members: writes still work
        kubectl("-n", NAMESPACE, "create", "configmap", "written-with-two-members", "--from-literal=ok=yes");
        // the node controller marks it NotReady after its grace period; only then does "Ready again" mean a rejoin
        await waitFor(`${holder} NotReady`, () => !readyNodes().includes(holder), 180000, 5000);
        lab("power-on", holder);
        await waitFor(`${holder} Ready again`, () => readyNodes().includes(holder), 600000, 5000);
        const etcdPod = `etcd-${holder}`;
        await waitFor(`${etcdPod} running`, () => tryKubectl("-n", "kube-system", "get", "pod", etcdPod, "-o", "jsonpath={.status.phase}") === "Running", 300000, 5000);
    });

    test("5. destroy resets every node and powers it off", async () => {
        await project.stack.destroy({ onOutput: () => undefined });
        for (const node of NODES) await waitFor(`${node.hostname} off`, () => !isOn(node.hostname), 120000, 1000);
        for (const node of NODES) {
            lab("power-on", node.hostname);
            await waitFor(`${node.hostname} answering SSH`, () => ssh(node.sshAddress, "true", 2).status === 0, 120000, 1000);
            expect(inside(node.hostname, "ls /etc/kubernetes/manifests 2>/dev/null | wc -l; test -e /etc/kubernetes/admin.conf && echo admin.conf || echo none; test -d /var/lib/etcd && echo etcd || echo none")).toBe("0\nnone\nnone");
        }
    });
});

/** The page a probe pod serves (its name), fetched from another pod; busybox's static wget crashes, nc does not. */
function httpGet(fromPod: string, address: string): string {
    return kubectl("-n", NAMESPACE, "exec", fromPod, "--", "/bin/sh", "-c",
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 5 ${address} 8080 | tail -1`);
}

function probeManifest(): string {
    return `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: probe, namespace: ${NAMESPACE}}
spec:
  selector: {matchLabels: {app: probe}}
  template:
    metadata: {labels: {app: probe}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
        - name: probe
          image: ${PROBE_IMAGE}
          imagePullPolicy: Never
          command: [/bin/sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
          ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: probe, namespace: ${NAMESPACE}}
spec:
  selector: {app: probe}
  ports: [{port: 8080, targetPort: 8080}]
`;
}
