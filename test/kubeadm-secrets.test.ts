// The kubeadm scripts run for real under strace, against stand-in kubeadm and kubectl, with the
// bootstrap token and certificate key on stdin as Pulumi hands them: no secret may appear in any
// command line (execve), yet kubeadm and the API must receive them (through files and stdin).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ClusterSpec } from "../components/kubeadm/config";
import { renderInitScript, renderJoinScript, renderJoinSecretsCleanupScript, renderPrejoinScript } from "../components/kubeadm/render";
import { renderStep } from "../components/step";
import { standIns, StandIns } from "./helpers/standins";

const TOKEN_ID = "k3x9qa";
const TOKEN_SECRET = "7h2mzq4wv8pb1rt6";
const CERTIFICATE_KEY = "9f1c2e7ab04d6a8c3e5f7091b2d4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f7a8b9c0";
const STDIN = `${TOKEN_ID}.${TOKEN_SECRET}\n${CERTIFICATE_KEY}\n`;

const spec: ClusterSpec = {
    clusterName: "home", version: "1.34.2", podCidr: "172.16.0.0/16", serviceCidr: "10.96.0.0/12", dnsDomain: "cluster.local",
    controlPlaneEndpoint: { address: "10.0.0.100", port: 6443 },
    nodes: [
        { hostname: "home-server-1", internalAddress: "10.0.0.101", role: "control-plane" },
        { hostname: "home-server-2", internalAddress: "10.0.0.102", role: "control-plane" },
        { hostname: "home-server-4", internalAddress: "10.0.0.104", role: "worker" },
    ],
    scheduleOnControlPlanes: true, allowCgroupV1: false, imagesPreloaded: false, kubeProxySetsConntrackLimit: true,
};
const [cp1, cp2, worker] = spec.nodes;
const CA_HASH = `sha256:${"ab".repeat(32)}`;

let box: StandIns;
// what `get secrets` answers for kubeadm's upload-certs token and for one of the user's own (base64, as in a Secret)
const UPLOAD_CERTS_PROXY = Buffer.from("Proxy for managing TTL for the kubeadm-certs secret").toString("base64");
const OTHER_DESCRIPTION = Buffer.from("a token of the user's own").toString("base64");

beforeEach(() => {
    box = standIns({
        // records each call; keeps a copy of any --config file (the filled one is removed when the script ends)
        kubeadm: `echo "$*" >> "$STANDINS/kubeadm.log"
previous=""
for arg in "$@"; do
  if [ "$previous" = --config ]; then cp "$arg" "$STANDINS/kubeadm-config-$(wc -l < "$STANDINS/kubeadm.log").yaml"; fi
  previous=$arg
done
case "$*" in
  init\\ phase*) ;;
  init*) touch "$STANDINS/etc-kubernetes/admin.conf" "$STANDINS/etc-kubernetes/super-admin.conf" ;;
  join*) touch "$STANDINS/etc-kubernetes/kubelet.conf" ;;
esac`,
        kubectl: `echo "$*" >> "$STANDINS/kubectl.log"
case "$*" in
  *" apply -f -"*) cat > "$STANDINS/applied.yaml" ;;
  *"get secrets --field-selector type=bootstrap.kubernetes.io/token"*) printf '%s\\n' "bootstrap-token-q1w2e3 ${UPLOAD_CERTS_PROXY}" "bootstrap-token-u5e6r7 ${OTHER_DESCRIPTION}" ;;
  *" get secret "*|*"get deployment coredns"*) exit 1 ;;
esac
exit 0`,
        // the node's own API answers; another endpoint only when told (api-answers: the endpoint that does)
        curl: `case "$*" in
  *https://127.0.0.1*) exit 0 ;;
  *) if [ -f "$STANDINS/api-answers" ] && grep -qF "$(cat "$STANDINS/api-answers")" <<<"$*"; then echo '{"gitVersion": "v1.34.2"}'; exit 0; fi; exit 7 ;;
esac`,
        systemctl: `echo "$*" >> "$STANDINS/systemctl.log"; [ "$*" != "is-active --quiet kubelet" ]`,
    });
    fs.mkdirSync(path.join(box.dir, "etc-kubernetes"));
});
afterEach(() => box.cleanup());

/** The step as it runs on a node: the wrapper around the script, the token and key on stdin, every execve traced. */
function traced(name: string, rendered: string) {
    const step = renderStep(name, rendered, "create");
    const moved = Object.entries({ "/etc/kubernetes": "etc-kubernetes", "/etc/homelab": "etc-homelab", "/var/lib/homelab/steps": "steps", "/var/lib/kubelet": "var-lib-kubelet" })
        .filter(([original]) => step.includes(original));
    const runnable = box.runnable(step, Object.fromEntries(moved));
    const trace = path.join(box.dir, "trace");
    const result = spawnSync("strace", ["-f", "-qq", "-s", "1000000", "-e", "trace=execve", "-o", trace, "bash", "-c", runnable], { input: STDIN, encoding: "utf8", timeout: 60000 });
    return { ...result, execs: fs.readFileSync(trace, "utf8") };
}

function expectNoSecretInCommandLines(execs: string): void {
    expect(execs).toContain("execve(");
    expect(execs).not.toContain(TOKEN_SECRET);
    expect(execs).not.toContain(CERTIFICATE_KEY);
}

const log = (tool: string) => fs.readFileSync(path.join(box.dir, `${tool}.log`), "utf8");
const configsWith = (text: string) => fs.readdirSync(box.dir).filter((file) => file.startsWith("kubeadm-config-"))
    .filter((file) => fs.readFileSync(path.join(box.dir, file), "utf8").includes(text));

test("init: the token and the key reach kubeadm in its config file only", () => {
    const result = traced("kubernetes-init", renderInitScript(spec, cp1));
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expectNoSecretInCommandLines(result.execs);
    expect(log("kubeadm")).toMatch(/^init --config \S+ --upload-certs/m);
    expect(configsWith(`${TOKEN_ID}.${TOKEN_SECRET}`).length).toBeGreaterThan(0);
    expect(configsWith(CERTIFICATE_KEY).length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(box.dir, "etc-kubernetes", "homelab-init.done"))).toBe(true);
});

test("init refused where a cluster already answers, at the VIP or another control plane (a new machine in place of the first control plane): nothing run, nothing written", () => {
    for (const endpoint of ["10.0.0.100:6443", "10.0.0.102:6443"]) {
        fs.writeFileSync(path.join(box.dir, "api-answers"), endpoint);
        const result = traced("kubernetes-init", renderInitScript(spec, cp1));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`refusing kubeadm init on home-server-1: a Kubernetes API already answers at ${endpoint}`);
        expect(result.stderr).toContain("in homelab:nodes, list another control plane first and home-server-1 after it, run 'npm run forget-node -- --replaced home-server-1', then pulumi up");
        expect(fs.existsSync(path.join(box.dir, "kubeadm.log"))).toBe(false);
        expect(fs.readdirSync(path.join(box.dir, "etc-kubernetes"))).toEqual([]);
    }
});

test("init on a control plane that joined and is listed first now (the first one gone): no kubeadm init; super-admin.conf written by its phase where missing, the node recorded as the one that carries the cluster's steps", () => {
    const etc = path.join(box.dir, "etc-kubernetes");
    for (const file of ["admin.conf", "kubelet.conf", "homelab-join.done"]) fs.writeFileSync(path.join(etc, file), "written by the join");
    const secondFirst = { ...spec, nodes: [cp2, cp1, worker] };
    const result = traced("kubernetes-init", renderInitScript(secondFirst, cp2));
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expectNoSecretInCommandLines(result.execs);
    expect(log("kubeadm").split("\n").filter(Boolean).map((line) => line.replace(/ --config \S+.*$/, ""))).toEqual(["init phase kubeconfig super-admin"]);
    expect(result.stdout).toContain("home-server-2 joined the cluster as a control plane and is the first listed now: it takes over the steps of the first control plane");
    expect(fs.existsSync(path.join(etc, "homelab-init.done"))).toBe(true);

    // again, super-admin.conf there: nothing for kubeadm to do
    fs.rmSync(path.join(etc, "homelab-init.done"));
    fs.rmSync(path.join(box.dir, "kubeadm.log"));
    fs.writeFileSync(path.join(etc, "super-admin.conf"), "written by the takeover");
    expect(traced("kubernetes-init", renderInitScript(secondFirst, cp2)).status).toBe(0);
    expect(fs.existsSync(path.join(box.dir, "kubeadm.log"))).toBe(false);
    expect(fs.existsSync(path.join(etc, "homelab-init.done"))).toBe(true);
});

test("init cut short just after admin.conf: each file it had not written yet is written by its own phase, the written ones are left, then the phases after the API run and the init is recorded done", () => {
    const etc = path.join(box.dir, "etc-kubernetes");
    for (const file of ["admin.conf", "super-admin.conf", "kubelet.conf"]) fs.writeFileSync(path.join(etc, file), "written before the kill");
    const result = traced("kubernetes-init", renderInitScript(spec, cp1));
    expect(result.status).toBe(0);
    expectNoSecretInCommandLines(result.execs);
    const phases = log("kubeadm").split("\n").filter(Boolean).map((line) => line.replace(/ --config \S+.*$/, ""));
    expect(phases).toEqual([
        "init phase kubeconfig controller-manager", "init phase kubeconfig scheduler", "init phase etcd local",
        "init phase control-plane apiserver", "init phase control-plane controller-manager", "init phase control-plane scheduler", "init phase kubelet-start",
        "init phase upload-config all", "init phase upload-certs --upload-certs", "init phase mark-control-plane", "init phase bootstrap-token", "init phase kubelet-finalize all", "init phase addon all",
    ]);
    expect(result.stdout).toContain("kubeadm init on home-server-1 was cut short before writing /");
    expect(fs.readFileSync(path.join(box.dir, "systemctl.log"), "utf8")).toContain("start kubelet");
    expect(fs.readFileSync(path.join(etc, "super-admin.conf"), "utf8")).toBe("written before the kill");
    expect(fs.existsSync(path.join(etc, "homelab-init.done"))).toBe(true);
});

test("pre-join: the token goes to the API on kubectl's stdin and the key to kubeadm in a file (kubeadm token create and --certificate-key put them in command lines)", () => {
    fs.writeFileSync(path.join(box.dir, "etc-kubernetes", "admin.conf"), "");
    fs.writeFileSync(path.join(box.dir, "etc-kubernetes", "homelab-init.done"), "");
    const result = traced("kubernetes-prejoin", renderPrejoinScript(spec, cp1));
    expect(result.status).toBe(0);
    expectNoSecretInCommandLines(result.execs);
    const applied = fs.readFileSync(path.join(box.dir, "applied.yaml"), "utf8");
    expect(applied).toContain(`name: bootstrap-token-${TOKEN_ID}`);
    expect(applied).toContain(`token-secret: ${TOKEN_SECRET}`);
    expect(applied).toContain('description: "homelab: joins of the nodes in the stack config"');
    expect(log("kubeadm")).toMatch(/^init phase upload-certs --upload-certs --config \S+ --kubeconfig \S+super-admin\.conf$/m);
    expect(configsWith(CERTIFICATE_KEY).length).toBeGreaterThan(0);
    expect(log("kubeadm")).not.toContain("token create");
});

test("joins: a control plane gets the token and the key, a worker the token only, each in its config file", () => {
    const controlPlane = traced("kubernetes-home-server-2-join", renderJoinScript(spec, cp2, CA_HASH));
    expect(controlPlane.status).toBe(0);
    expectNoSecretInCommandLines(controlPlane.execs);
    expect(configsWith(CERTIFICATE_KEY).length).toBe(1);
    fs.rmSync(path.join(box.dir, "etc-kubernetes"), { recursive: true });
    fs.mkdirSync(path.join(box.dir, "etc-kubernetes"));
    const workerJoin = traced("kubernetes-home-server-4-join", renderJoinScript(spec, worker, CA_HASH));
    expect(workerJoin.status).toBe(0);
    expectNoSecretInCommandLines(workerJoin.execs);
    expect(configsWith(`${TOKEN_ID}.${TOKEN_SECRET}`).length).toBe(2);
    expect(configsWith(CERTIFICATE_KEY).length).toBe(1);
});

test("after the joins, the token (named by its public id) and the uploaded certificates are deleted", () => {
    const result = traced("kubernetes-join-secrets-cleanup", renderJoinSecretsCleanupScript(renderPrejoinScript(spec, cp1)));
    expect(result.status).toBe(0);
    expectNoSecretInCommandLines(result.execs);
    expect(log("kubectl")).toContain(`-n kube-system delete secret bootstrap-token-${TOKEN_ID} --ignore-not-found`);
    expect(log("kubectl")).toContain("-n kube-system delete secret kubeadm-certs --ignore-not-found");
    // the token kubeadm's upload-certs made to own kubeadm-certs goes too; a token of the user's stays
    expect(log("kubectl")).toContain("-n kube-system delete secret bootstrap-token-q1w2e3 --ignore-not-found");
    expect(log("kubectl")).not.toContain("bootstrap-token-u5e6r7");
});
