// KubeadmCluster's step before a node joins, run by bash against a stand-in kubectl and etcdctl
// (reached through a stand-in nsenter, as on a control plane) that answer from files: what a dead
// machine left under the hostname of the one taking its place goes, and only that. Every call that
// changes something is logged in order.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { renderMachineIdentityScript } from "../components/baremetal/render";
import { renderAdmissionScript } from "../components/kubeadm/admission";
import { expectScriptGolden } from "./helpers/golden";
import { standIns } from "./helpers/standins";

const cluster = standIns({
    pgrep: "echo 4242",
    nsenter: `while [ "$1" != -- ]; do shift; done; shift; exec "$@"`,
    etcdctl: `args="$*"
case "$args" in
  *"member list"*) cat "$STANDINS/members" ;;
  *"endpoint health"*)
    echo "etcdctl $args" >> "$STANDINS/health-asked"
    for url in $(cat "$STANDINS/answering" 2>/dev/null); do
      case "$args" in *"--endpoints=$url "*) echo "$url is healthy"; exit 0 ;; esac
    done
    case "$args" in *"--command-timeout=5s"*) echo "$args: context deadline exceeded" >&2; exit 1 ;; esac
    [ -f "$STANDINS/others-unhealthy" ] && { echo "https://10.77.0.12:2379 is unhealthy: context deadline exceeded"; exit 1; }
    echo "healthy" ;;
  *"member remove "*) echo "etcdctl member remove \${args##*member remove }" >> "$STANDINS/calls" ;;
  *) echo "unexpected: etcdctl $args" >&2; exit 2 ;;
esac`,
    kubectl: `shift 2
args="$*"
case "$args" in
  "get node "*" --ignore-not-found -o jsonpath={.metadata.name} {.status.nodeInfo.machineID}") [ -f "$STANDINS/api-down" ] && exit 1; cat "$STANDINS/node-$3" 2>/dev/null || true ;;
  "get node "*" -o jsonpath="*) cat "$STANDINS/ready-$3" 2>/dev/null || echo True ;;
  "delete node "*) echo "kubectl $args" >> "$STANDINS/calls" ;;
  *) echo "unexpected: kubectl $args" >&2; exit 2 ;;
esac`,
});
afterAll(() => cluster.cleanup());
fs.writeFileSync(path.join(cluster.dir, "admin.conf"), "");

const OLD_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const NEW_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const identity = (machineId: string) => createHash("sha256").update(machineId).digest("hex");
/** What BareMetalNode's step prints on a machine whose /etc/machine-id holds `content`. */
function identityOnMachine(content: string): string {
    const file = path.join(cluster.dir, "machine-id");
    fs.writeFileSync(file, content);
    const result = cluster.run(renderMachineIdentityScript(file), {});
    expect(result.status).toBe(0);
    return result.stdout.trim();
}
const member = (id: string, name: string, address: string) => `${id}, started, ${name}, https://${address}:2380, https://${address}:2379, false`;
const THREE_MEMBERS = [member("8e9e05c52164694d", "lab-1", "10.77.0.11"), member("91bc3c398fb3c146", "lab-2", "10.77.0.12"), member("fd422379fda50e48", "lab-3", "10.77.0.13")];

function run(spec: Parameters<typeof renderAdmissionScript>[0], state: { registeredBy?: string; ready?: string; members?: string[]; answering?: string[]; othersUnhealthy?: boolean; apiDown?: boolean }) {
    for (const file of fs.readdirSync(cluster.dir)) {
        if (/^(calls|health-asked|node-|ready-|members|answering|others-unhealthy|api-down)/.test(file)) fs.rmSync(path.join(cluster.dir, file));
    }
    if (state.registeredBy !== undefined) fs.writeFileSync(path.join(cluster.dir, `node-${spec.hostname}`), `${spec.hostname} ${state.registeredBy}`);
    if (state.ready) fs.writeFileSync(path.join(cluster.dir, `ready-${spec.hostname}`), state.ready);
    fs.writeFileSync(path.join(cluster.dir, "members"), (state.members ?? THREE_MEMBERS).map((line) => `${line}\n`).join(""));
    fs.writeFileSync(path.join(cluster.dir, "answering"), (state.answering ?? []).join("\n"));
    if (state.othersUnhealthy) fs.writeFileSync(path.join(cluster.dir, "others-unhealthy"), "");
    if (state.apiDown) fs.writeFileSync(path.join(cluster.dir, "api-down"), "");
    const result = cluster.run(renderAdmissionScript(spec), { "/etc/kubernetes/admin.conf": "admin.conf" });
    const read = (file: string) => (fs.existsSync(path.join(cluster.dir, file)) ? fs.readFileSync(path.join(cluster.dir, file), "utf8").trim().split("\n") : []);
    return { status: result.status, output: result.stdout + result.stderr, calls: read("calls"), healthAsked: read("health-asked") };
}

const lab3 = (machine: string) => ({ hostname: "lab-3", role: "control-plane" as const, machine });

describe("a node's admission before it joins", () => {
    test("goldens: a control plane's and a worker's", () => {
        expectScriptGolden("admission-control-plane.sh", renderAdmissionScript(lab3(identity(NEW_ID))));
        expectScriptGolden("admission-worker.sh", renderAdmissionScript({ hostname: "lab-4", role: "worker", machine: identity(NEW_ID) }));
    });

    test("the machine that registered the Node, a new node and a machine without an id: nothing changes", () => {
        // the identity as BareMetalNode's step prints it from /etc/machine-id (a newline at its end)
        const printed = identityOnMachine(`${OLD_ID}\n`);
        expect(printed).toBe(identity(OLD_ID));
        expect(identityOnMachine("")).toBe("unknown");
        const same = run(lab3(printed), { registeredBy: OLD_ID, ready: "Unknown" });
        expect(same).toMatchObject({ status: 0, calls: [], healthAsked: [] });
        expect(same.output).toContain("Node lab-3 was registered by the machine at its address: nothing to clean up");
        const fresh = run(lab3(identity(NEW_ID)), {});
        expect(fresh).toMatchObject({ status: 0, calls: [] });
        expect(fresh.output).toContain("no Node lab-3 yet");
        const unknown = run(lab3("unknown"), { registeredBy: OLD_ID, ready: "Unknown" });
        expect(unknown).toMatchObject({ status: 0, calls: [] });
        const noId = run(lab3(identity(NEW_ID)), { registeredBy: "", ready: "Unknown" });
        expect(noId).toMatchObject({ status: 0, calls: [] });
        expect(noId.output).toContain("records no machine id");
    });

    test("a replaced control plane: its old etcd member removed once the others answer, then its old Node deleted", () => {
        const result = run(lab3(identity(NEW_ID)), { registeredBy: OLD_ID, ready: "Unknown" });
        expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
        expect(result.calls).toEqual(["etcdctl member remove fd422379fda50e48", "kubectl delete node lab-3 --ignore-not-found"]);
        // the old member was asked first (it must not answer), then the two that stay
        expect(result.healthAsked[0]).toContain("--endpoints=https://10.77.0.13:2379 --command-timeout=5s endpoint health");
        expect(result.healthAsked[1]).toContain("--endpoints=https://10.77.0.11:2379,https://10.77.0.12:2379 endpoint health");
        expect(result.output).toContain("etcd member lab-3 (fd422379fda50e48) of the old machine removed");
    });

    test("a rerun after the member went (the Node is still there): only the Node is deleted", () => {
        const result = run(lab3(identity(NEW_ID)), { registeredBy: OLD_ID, ready: "Unknown", members: THREE_MEMBERS.slice(0, 2) });
        expect(result).toMatchObject({ status: 0, calls: ["kubectl delete node lab-3 --ignore-not-found"] });
        expect(result.output).toContain("etcd has no member lab-3");
    });

    test("a replaced worker: its old Node deleted; etcd not asked", () => {
        const result = run({ hostname: "lab-4", role: "worker", machine: identity(NEW_ID) }, { registeredBy: OLD_ID, ready: "False" });
        expect(result).toMatchObject({ status: 0, calls: ["kubectl delete node lab-4 --ignore-not-found"], healthAsked: [] });
    });

    test("refused, nothing changed: the old Node still Ready, the old member answering, another member unhealthy, the API silent", () => {
        const ready = run(lab3(identity(NEW_ID)), { registeredBy: OLD_ID, ready: "True" });
        expect(ready).toMatchObject({ status: 1, calls: [] });
        expect(ready.output).toContain("refusing: Node lab-3 is Ready, so the machine that registered it still runs");
        const answering = run(lab3(identity(NEW_ID)), { registeredBy: OLD_ID, ready: "Unknown", answering: ["https://10.77.0.13:2379"] });
        expect(answering).toMatchObject({ status: 1, calls: [] });
        expect(answering.output).toContain("refusing: lab-3's etcd member (fd422379fda50e48) answers at https://10.77.0.13:2379");
        const unhealthy = run(lab3(identity(NEW_ID)), { registeredBy: OLD_ID, ready: "Unknown", othersUnhealthy: true });
        expect(unhealthy).toMatchObject({ status: 1, calls: [] });
        expect(unhealthy.output).toContain("refusing to remove lab-3's etcd member while another member is unhealthy");
        const silent = run(lab3(identity(NEW_ID)), { apiDown: true });
        expect(silent).toMatchObject({ status: 1, calls: [] });
        expect(silent.output).toContain("the Kubernetes API does not answer");
    });
});
