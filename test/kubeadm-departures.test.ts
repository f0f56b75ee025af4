// KubeadmCluster's step for nodes that left the config, run by bash against a stand-in kubectl and
// etcdctl (reached through a stand-in nsenter, as on a control plane) that answer from files. Every
// call that changes something is logged in order.
import * as fs from "fs";
import * as path from "path";
import { renderDeparturesScript } from "../components/kubeadm/departures";
import { expectScriptGolden } from "./helpers/golden";
import { standIns } from "./helpers/standins";

const cluster = standIns({
    pgrep: "echo 4242",
    nsenter: `while [ "$1" != -- ]; do shift; done; shift; exec "$@"`,
    etcdctl: `args="$*"
case "$args" in
  *"member list"*) cat "$STANDINS/members" ;;
  *"endpoint health"*) echo "etcdctl $args" >> "$STANDINS/health-asked"; [ -f "$STANDINS/healthy" ] || { echo "https://10.77.0.12:2379 is unhealthy: failed to commit proposal: context deadline exceeded"; exit 1; } ;;
  *"member remove "*) echo "etcdctl member remove \${args##*member remove }" >> "$STANDINS/calls" ;;
  *) echo "unexpected: etcdctl $args" >&2; exit 2 ;;
esac`,
    kubectl: `shift 2
args="$*"
case "$args" in
  "get nodes -o jsonpath="*) cat "$STANDINS/nodes" ;;
  "get node "*" -o jsonpath="*) cat "$STANDINS/ready-$3" 2>/dev/null || echo True ;;
  "cordon "*|"delete node "*) echo "kubectl $args" >> "$STANDINS/calls" ;;
  "drain "*) echo "kubectl $args" >> "$STANDINS/calls"; if [ -f "$STANDINS/drain-blocked" ]; then echo 'error when evicting pods/"web-0" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pods disruption budget.' >&2; exit 1; fi ;;
  "get pods -A"*) echo "shop web-0 StatefulSet"; echo "kube-system calico-node-x DaemonSet" ;;
  "get pdb -A"*) echo "shop/web " ;;
  *) echo "unexpected: kubectl $args" >&2; exit 2 ;;
esac`,
});
afterAll(() => cluster.cleanup());
fs.writeFileSync(path.join(cluster.dir, "admin.conf"), "");

const member = (id: string, name: string, address: string) => `${id}, started, ${name}, https://${address}:2380, https://${address}:2379, false`;
const THREE_MEMBERS = [member("8e9e05c52164694d", "lab-1", "10.77.0.11"), member("91bc3c398fb3c146", "lab-2", "10.77.0.12"), member("fd422379fda50e48", "lab-3", "10.77.0.13")];
const config = (names: string[], workers: string[] = []) => ({ nodes: [...names.map((hostname) => ({ hostname, role: "control-plane" as const })), ...workers.map((hostname) => ({ hostname, role: "worker" as const }))] });

function run(spec: ReturnType<typeof config>, state: { nodes: string[]; members: string[]; notReady?: string[]; healthy?: boolean; drainBlocked?: boolean }) {
    for (const file of fs.readdirSync(cluster.dir)) {
        if (/^(calls|health-asked|nodes|members|ready-|healthy|drain-blocked)/.test(file)) fs.rmSync(path.join(cluster.dir, file));
    }
    fs.writeFileSync(path.join(cluster.dir, "nodes"), state.nodes.map((name) => `${name}\n`).join(""));
    fs.writeFileSync(path.join(cluster.dir, "members"), state.members.map((line) => `${line}\n`).join(""));
    for (const name of state.notReady ?? []) fs.writeFileSync(path.join(cluster.dir, `ready-${name}`), "Unknown");
    if (state.healthy !== false) fs.writeFileSync(path.join(cluster.dir, "healthy"), "");
    if (state.drainBlocked) fs.writeFileSync(path.join(cluster.dir, "drain-blocked"), "");
    const result = cluster.run(renderDeparturesScript(spec), { "/etc/kubernetes/admin.conf": "admin.conf" });
    const read = (file: string) => (fs.existsSync(path.join(cluster.dir, file)) ? fs.readFileSync(path.join(cluster.dir, file), "utf8").trim().split("\n") : []);
    return { status: result.status, output: result.stdout + result.stderr, calls: read("calls"), healthAsked: read("health-asked") };
}

describe("nodes that left the config", () => {
    test("golden", () => {
        expectScriptGolden("departures.sh", renderDeparturesScript(config(["lab-1", "lab-2", "lab-3"], ["lab-4"])));
    });

    test("nothing left: nothing changes", () => {
        const result = run(config(["lab-1", "lab-2", "lab-3"]), { nodes: ["lab-1", "lab-2", "lab-3"], members: THREE_MEMBERS });
        expect(result).toMatchObject({ status: 0, calls: [] });
        expect(result.output).toContain("every Node and etcd member is in the config");
    });

    test("a worker taken out: drained, then its Node deleted; etcd untouched", () => {
        const { status, output, calls, healthAsked } = run(config(["lab-1", "lab-2", "lab-3"]), { nodes: ["lab-1", "lab-2", "lab-3", "lab-4"], members: THREE_MEMBERS });
        expect({ status, output }).toMatchObject({ status: 0 });
        expect(calls).toEqual(["kubectl cordon lab-4", "kubectl drain lab-4 --ignore-daemonsets --delete-emptydir-data --timeout=600s", "kubectl delete node lab-4 --ignore-not-found"]);
        expect(healthAsked).toEqual([]);
    });

    test("a dead control plane taken out: not drained, its etcd member removed after the staying members answered healthy, its Node deleted", () => {
        const { status, output, calls, healthAsked } = run(config(["lab-1", "lab-2"]), { nodes: ["lab-1", "lab-2", "lab-3"], members: THREE_MEMBERS, notReady: ["lab-3"] });
        expect({ status, output }).toMatchObject({ status: 0 });
        expect(output).toContain("lab-3 is not Ready (Unknown): its pods cannot stop; not drained");
        expect(calls).toEqual(["etcdctl member remove fd422379fda50e48", "kubectl delete node lab-3 --ignore-not-found"]);
        // only the members that stay are asked
        expect(healthAsked).toHaveLength(1);
        expect(healthAsked[0]).toContain("--endpoints=https://10.77.0.11:2379,https://10.77.0.12:2379 endpoint health");
    });

    test("a staying etcd member unhealthy: refused before any change", () => {
        const { status, output, calls } = run(config(["lab-1", "lab-2"]), { nodes: ["lab-1", "lab-2", "lab-3"], members: THREE_MEMBERS, healthy: false });
        expect(status).toBe(1);
        expect(output).toContain("refusing to remove etcd members while one that stays is unhealthy; nothing was changed");
        expect(output).toContain("https://10.77.0.12:2379 is unhealthy");
        expect(calls).toEqual([]);
    });

    test("a drain held up by a disruption budget: fails naming the pod and the budget; the node stays, cordoned, and no member is removed", () => {
        const { status, output, calls } = run(config(["lab-1", "lab-2"]), { nodes: ["lab-1", "lab-2", "lab-3"], members: THREE_MEMBERS, drainBlocked: true });
        expect(status).toBe(1);
        expect(output).toContain("draining lab-3 did not finish within 600 s; it stays cordoned");
        expect(output).toContain("pods still on lab-3 (DaemonSets' aside): shop/web-0");
        expect(output).toContain("PodDisruptionBudgets that allow no eviction now: shop/web");
        expect(calls).toEqual(["kubectl cordon lab-3", "kubectl drain lab-3 --ignore-daemonsets --delete-emptydir-data --timeout=600s"]);
    });
});
