// KubeadmCluster's rolling upgrade, run by bash against stand-ins: the drain and release steps (on
// the first control plane) against a kubectl that keeps each Node's version, annotation and
// cordon in files; the node's own step against stand-in apt, kubeadm, systemctl and a kubelet whose
// running binary can be replaced under it. Every call that changes something is logged in order.
import * as fs from "fs";
import * as path from "path";
import { renderPackagesScript } from "../components/kubeadm/packages";
import { renderUpgradeDrainScript, renderUpgradeNodeScript, renderUpgradeReleaseScript, upgradeOrder, UpgradeStepSpec } from "../components/kubeadm/rolling-upgrade";
import { expectScriptGolden } from "./helpers/golden";
import { standIns } from "./helpers/standins";

// ---- the steps on the first control plane ----------------------------------------------------
const cluster = standIns({
    kubectl: `shift 2
args="$*"
case "$args" in
  "get nodes -o jsonpath="*) cat "$STANDINS/ready" ;;
  "get node "*" -o jsonpath={.status.nodeInfo.kubeletVersion}") cat "$STANDINS/kubelet-$3" ;;
  "get node "*" -o jsonpath={.metadata.annotations.homelab\\.dev/upgrading-to}") cat "$STANDINS/annotation-$3" 2>/dev/null || true ;;
  "get node "*" -o jsonpath={.spec.unschedulable}") cat "$STANDINS/cordoned-$3" 2>/dev/null || true ;;
  "get node "*" -o jsonpath={.status.nodeInfo.kubeletVersion} {.status.conditions"*) echo "$(cat "$STANDINS/kubelet-$3") True" ;;
  "get node "*" -o jsonpath={.status.conditions[?(@.type==\\"Ready\\")].status}")
    # lost-NODE: Unknown from then on; back-NODE: Unknown as many more times as it says, then True
    if [ -f "$STANDINS/lost-$3" ]; then echo Unknown
    elif [ -s "$STANDINS/lost-after-$3" ]; then n=$(cat "$STANDINS/lost-after-$3"); if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$STANDINS/lost-after-$3"; echo True; else echo Unknown; fi
    elif [ -s "$STANDINS/back-$3" ] && [ "$(cat "$STANDINS/back-$3")" -gt 0 ]; then echo $(($(cat "$STANDINS/back-$3") - 1)) > "$STANDINS/back-$3"; echo Unknown
    else echo True; fi ;;
  "annotate node "*" --overwrite homelab.dev/upgrading-to="*) echo "kubectl $args" >> "$STANDINS/calls"; echo "\${5#*=}" > "$STANDINS/annotation-$3" ;;
  "annotate node "*" homelab.dev/upgrading-to-") echo "kubectl $args" >> "$STANDINS/calls"; rm -f "$STANDINS/annotation-$3" ;;
  "cordon "*|"uncordon "*) echo "kubectl $args" >> "$STANDINS/calls" ;;
  "drain "*) echo "kubectl $args" >> "$STANDINS/calls"; if [ -f "$STANDINS/drain-loses-node" ]; then touch "$STANDINS/lost-$2"; sleep 20; fi; if [ -f "$STANDINS/drain-loses-api" ]; then echo 3 > "$STANDINS/lost-after-$2"; echo "error: unable to connect to the server: dial tcp 10.0.0.100:6443: connect: connection refused" >&2; exit 1; fi; if [ -f "$STANDINS/drain-blocked" ]; then echo 'error when evicting pods/"web-0" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pods disruption budget.' >&2; exit 1; fi ;;
  "get pods -A"*) echo "shop web-0 StatefulSet" ;;
  "get pdb -A"*) echo "shop/web " ;;
  *) echo "unexpected: kubectl $args" >&2; exit 2 ;;
esac`,
});
afterAll(() => cluster.cleanup());
fs.writeFileSync(path.join(cluster.dir, "admin.conf"), "");
// the gate runs as a script of its own: the paths it names are moved into the stand-ins' directory like the others
const gate = { what: "Ceph", script: `#!/usr/bin/env bash\necho gate >> /run/gate/calls\n[ -f /run/gate/ceph-ok ] || { echo "HEALTH_WARN 1 osds down" >&2; exit 1; }\necho HEALTH_OK\n` };
const step: UpgradeStepSpec = { hostname: "lab-2", role: "control-plane", version: "1.38.0", nodeCount: 3, healthGate: gate };

interface ClusterState { kubelet: string; annotation?: string; cordoned?: boolean; notReady?: string; cephOk?: boolean; drainBlocked?: boolean; drainLosesNode?: boolean; drainLosesApi?: boolean; backAfter?: number }

function onCluster(rendered: string, state: ClusterState) {
    for (const file of fs.readdirSync(cluster.dir)) {
        if (/^(calls|ready|kubelet-|annotation-|cordoned-|ceph-ok|drain-blocked|drain-loses-node|drain-loses-api|lost-|back-)/.test(file)) fs.rmSync(path.join(cluster.dir, file));
    }
    const write = (file: string, text: string) => fs.writeFileSync(path.join(cluster.dir, file), text);
    write("ready", ["lab-1", "lab-2", "lab-3"].map((name) => `${name} ${name === state.notReady ? "False" : "True"}\n`).join(""));
    write("kubelet-lab-2", state.kubelet);
    if (state.annotation) write("annotation-lab-2", state.annotation);
    if (state.cordoned) write("cordoned-lab-2", "true");
    if (state.cephOk !== false) write("ceph-ok", "");
    if (state.drainBlocked) write("drain-blocked", "");
    if (state.drainLosesNode) write("drain-loses-node", "");
    if (state.drainLosesApi) write("drain-loses-api", "");
    if (state.backAfter !== undefined) write("back-lab-2", String(state.backAfter));
    const paths: Record<string, string> = { "/etc/kubernetes/admin.conf": "admin.conf" };
    if (rendered.includes("/run/gate/")) Object.assign(paths, { "/run/gate/calls": "calls", "/run/gate/ceph-ok": "ceph-ok" });
    const result = cluster.run(rendered, paths);
    const read = (file: string) => (fs.existsSync(path.join(cluster.dir, file)) ? fs.readFileSync(path.join(cluster.dir, file), "utf8").trim() : undefined);
    return { status: result.status, output: result.stdout + result.stderr, calls: read("calls")?.split("\n") ?? [], annotation: read("annotation-lab-2") };
}

describe("the drain before a node's upgrade", () => {
    test("golden", () => expectScriptGolden("upgrade-drain.sh", renderUpgradeDrainScript(step)));

    test("a node at the wanted version: nothing asked, nothing changed", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.38.0" });
        expect(result).toMatchObject({ status: 0, calls: [] });
        expect(result.output).toContain("lab-2 runs Kubernetes v1.38.0: nothing to upgrade");
    });

    test("the gates pass: annotated, then cordoned and drained", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2" });
        expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
        expect(result.calls).toEqual([
            "gate",
            "kubectl annotate node lab-2 --overwrite homelab.dev/upgrading-to=v1.38.0",
            "kubectl cordon lab-2",
            "kubectl drain lab-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s",
        ]);
        expect(result.annotation).toBe("v1.38.0");
    });

    test("a node not Ready, or Ceph not healthy: refused with the reason, nothing touched", () => {
        const notReady = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", notReady: "lab-3" });
        expect(notReady.status).toBe(1);
        expect(notReady.output).toContain("not Ready before lab-2 is drained: lab-3 ; the upgrade goes on once every node is Ready");
        expect(notReady.calls).toEqual([]);
        const unhealthy = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", cephOk: false });
        expect(unhealthy.status).toBe(1);
        expect(unhealthy.output).toContain("HEALTH_WARN 1 osds down");
        expect(unhealthy.output).toContain("Ceph is not healthy before lab-2 is drained: the upgrade stops here, and the next up goes on from this node");
        expect(unhealthy.calls).toEqual(["gate"]);
        expect(unhealthy.annotation).toBeUndefined();
    });

    test("a rerun after a run that began the node: no gate (its own drain may be what Ceph is warning about), drained again", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", annotation: "v1.38.0", cephOk: false, cordoned: true });
        expect(result.status).toBe(0);
        expect(result.output).toContain("lab-2's upgrade to v1.38.0 was begun by an earlier run: going on from there");
        expect(result.calls).toEqual(["kubectl cordon lab-2", "kubectl drain lab-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s"]);
    });

    test("a node half-way to another version: refused, naming it", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", annotation: "v1.37.5" });
        expect(result.status).toBe(1);
        expect(result.output).toContain("lab-2 is half-way through an upgrade to v1.37.5, not v1.38.0: set kubernetes.version to v1.37.5");
        expect(result.calls).toEqual([]);
    });

    test("a drain held up by a disruption budget: fails naming the pod and the budget, and the node is schedulable again", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", drainBlocked: true });
        expect(result.status).toBe(1);
        expect(result.output).toContain("draining lab-2 did not finish within 600 s; it is schedulable again");
        expect(result.output).toContain("pods still on lab-2 (DaemonSets' aside): shop/web-0");
        expect(result.output).toContain("PodDisruptionBudgets that allow no eviction now: shop/web");
        expect(result.calls.slice(-2)).toEqual(["kubectl drain lab-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s", "kubectl uncordon lab-2"]);
    });

    test("a node that loses power in its drain: the drain ends at once, naming it (not after the whole bound); it is schedulable again", () => {
        const started = Date.now();
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", drainLosesNode: true });
        expect(result.status).toBe(1);
        expect(Date.now() - started).toBeLessThan(18000);
        expect(result.output).toContain("lab-2 stopped answering during its drain (Ready: Unknown): its pods cannot stop while it is off; power it on, or take it out of the config, and run pulumi up again");
        expect(result.output).not.toContain("did not finish within");
        expect(result.calls.slice(-2)).toEqual(["kubectl drain lab-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s", "kubectl uncordon lab-2"]);
        expect(result.annotation).toBe("v1.38.0");
    }, 30000);

    test("a node lost with the API's VIP: kubectl drain fails on the API first; the node is asked again and named once it is seen NotReady", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", drainLosesApi: true });
        expect(result.status).toBe(1);
        expect(result.output).toContain("lab-2 stopped answering during its drain (Ready: Unknown)");
        expect(result.output).not.toContain("did not finish within");
    }, 60000);

    test("a rerun while the node that lost power is still coming back: its drain waits until it is Ready, then goes on", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", annotation: "v1.38.0", backAfter: 2 });
        expect(result.status).toBe(0);
        expect(result.output).toContain("going on from there");
        expect(result.output).toContain("lab-2 drained");
        expect(result.calls).toEqual(["kubectl cordon lab-2", "kubectl drain lab-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s"]);
        expect(fs.readFileSync(path.join(cluster.dir, "back-lab-2"), "utf8").trim()).toBe("0");
    }, 30000);

    test("a node cordoned by its user before: recorded, so that its release leaves it cordoned", () => {
        const result = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.37.2", cordoned: true });
        expect(result.status).toBe(0);
        expect(result.annotation).toBe("v1.38.0 cordoned-before");
        const release = onCluster(renderUpgradeReleaseScript(step), { kubelet: "v1.38.0", annotation: "v1.38.0 cordoned-before", cordoned: true });
        expect(release.output).toContain("lab-2 stays cordoned, as it was before its upgrade");
        expect(release.calls).toEqual(["gate", "kubectl annotate node lab-2 homelab.dev/upgrading-to-"]);
    });

    test("the only node is not drained", () => {
        const result = onCluster(renderUpgradeDrainScript({ ...step, nodeCount: 1 }), { kubelet: "v1.37.2" });
        expect(result.status).toBe(0);
        expect(result.output).toContain("lab-2 is the only node: not drained");
        expect(result.calls).toEqual(["gate", "kubectl annotate node lab-2 --overwrite homelab.dev/upgrading-to=v1.38.0"]);
    });
});

describe("the release after a node's upgrade", () => {
    test("golden", () => expectScriptGolden("upgrade-release.sh", renderUpgradeReleaseScript(step)));

    test("not being upgraded: nothing to do", () => {
        const result = onCluster(renderUpgradeReleaseScript(step), { kubelet: "v1.38.0" });
        expect(result).toMatchObject({ status: 0, calls: [] });
    });

    test("Ready at the new version: uncordoned, the gates, then the annotation goes", () => {
        const result = onCluster(renderUpgradeReleaseScript(step), { kubelet: "v1.38.0", annotation: "v1.38.0" });
        expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
        expect(result.calls).toEqual(["kubectl uncordon lab-2", "gate", "kubectl annotate node lab-2 homelab.dev/upgrading-to-"]);
        expect(result.annotation).toBeUndefined();
    });

    test("Ceph not healthy after the node: fails and keeps the annotation, so that the rerun comes back here and not to a drain", () => {
        const result = onCluster(renderUpgradeReleaseScript(step), { kubelet: "v1.38.0", annotation: "v1.38.0", cephOk: false });
        expect(result.status).toBe(1);
        expect(result.output).toContain("Ceph is not healthy after lab-2's upgrade");
        expect(result.annotation).toBe("v1.38.0");
        const drain = onCluster(renderUpgradeDrainScript(step), { kubelet: "v1.38.0", annotation: "v1.38.0" });
        expect(drain).toMatchObject({ status: 0, calls: [] });
        expect(drain.output).toContain("lab-2 runs Kubernetes v1.38.0 already: its release step finishes its upgrade");
    });
});

test("the order: control planes in config order (the first runs kubeadm upgrade apply), then workers", () => {
    const nodes = [{ hostname: "w1", role: "worker" as const }, { hostname: "cp1", role: "control-plane" as const }, { hostname: "cp2", role: "control-plane" as const }];
    expect(upgradeOrder(nodes).map((node) => node.hostname)).toEqual(["cp1", "cp2", "w1"]);
});

// ---- the step on the node ---------------------------------------------------------------------
// State in files: the kubelet binary installed (kubelet-installed) and the one the running process
// was started from (kubelet-running: the file is "replaced" when they differ), kubeadm's version,
// the API server's manifest, the .deb versions; apt-get installs, kubeadm upgrades, systemctl restarts.
const node = standIns({
    dpkg: `exit 0`,
    "dpkg-query": `pkg=\${@: -1}; [ -f "$STANDINS/pkg-$pkg" ] && printf 'ii |%s\\n' "$(cat "$STANDINS/pkg-$pkg")"`,
    "apt-get": `args="$*"
case "$args" in
  *update*) ;;
  *install*)
    echo "apt-get install \${args##*--allow-change-held-packages }" >> "$STANDINS/calls"
    for word in $args; do
      case "$word" in
        kubeadm=*) v=\${word#kubeadm=}; v=\${v%-\\*}; echo "$v-1.1" > "$STANDINS/pkg-kubeadm"; echo "v$v" > "$STANDINS/kubeadm-version" ;;
        kubelet=*) v=\${word#kubelet=}; v=\${v%-\\*}; echo "$v-1.1" > "$STANDINS/pkg-kubelet"; echo "v$v" > "$STANDINS/kubelet-installed" ;;
        kubectl=*) v=\${word#kubectl=}; v=\${v%-\\*}; echo "$v-1.1" > "$STANDINS/pkg-kubectl" ;;
      esac
    done ;;
esac`,
    "apt-mark": `case "$1" in showhold) printf 'kubeadm\\nkubelet\\nkubectl\\n' ;; esac`,
    kubeadm: `case "$*" in
  "version -o short") cat "$STANDINS/kubeadm-version" ;;
  "upgrade apply "*) echo "kubeadm $*" >> "$STANDINS/calls"; [ ! -f "$STANDINS/apply-fails" ] || { echo "[upgrade/apply] FATAL: context deadline exceeded" >&2; exit 1; }; sed -i "s#kube-apiserver:v[0-9.]*#kube-apiserver:$3#" "$STANDINS/kube-apiserver.yaml" ;;
  "upgrade node"|"upgrade node --ignore-preflight-errors=SystemVerification") echo "kubeadm $*" >> "$STANDINS/calls"; sed -i "s#kube-apiserver:v[0-9.]*#kube-apiserver:$(cat "$STANDINS/kubeadm-version")#" "$STANDINS/kube-apiserver.yaml" ;;
  "config images list "*) echo "registry.k8s.io/pause:3.10.2" ;;
  *) echo "unexpected: kubeadm $*" >&2; exit 2 ;;
esac`,
    containerd: `printf '    SystemdCgroup = false\\n    bin_dir = "/usr/lib/cni"\\n    sandbox_image = "registry.k8s.io/pause:3.8"\\n'`,
    systemctl: `case "$*" in
  "show -p MainPID --value kubelet") echo 4242 ;;
  "restart kubelet") echo "systemctl restart kubelet" >> "$STANDINS/calls"; cp "$STANDINS/kubelet-installed" "$STANDINS/kubelet-running" ;;
  "restart containerd") echo "systemctl restart containerd" >> "$STANDINS/calls" ;;
  *) ;;
esac`,
    readlink: `if cmp -s "$STANDINS/kubelet-installed" "$STANDINS/kubelet-running"; then echo "$STANDINS/kubelet-binary"; else echo "$STANDINS/kubelet-binary (deleted)"; fi`,
    "kubelet-binary": `echo "Kubernetes $(cat "$STANDINS/kubelet-running")"`,
    curl: `exit 0`,
    journalctl: `exit 0`,
});
afterAll(() => node.cleanup());
const PATHS = {
    "/etc/apt/keyrings/kubernetes-apt-keyring.gpg": "keyring.gpg",
    "/etc/apt/sources.list.d/kubernetes.list": "kubernetes.list",
    "/etc/containerd/config.toml": "config.toml",
    "/etc/homelab/containerd": "homelab-containerd",
    "/etc/kubernetes/manifests/kube-apiserver.yaml": "kube-apiserver.yaml",
    "/var/lib/kubelet/config.yaml": "kubelet-config.yaml",
};
const nodeSpec = { hostname: "lab-1", role: "control-plane" as const, first: true, version: "1.38.0", packages: { source: "upstream" as const }, apiPort: 6443, gracefulShutdown: { period: "120s", criticalPodsPeriod: "30s" } };

function onNode(rendered: string, state: { running: string; installed?: string; kubeadm?: string; apiserver: string; applyFails?: boolean }) {
    for (const file of fs.readdirSync(node.dir)) {
        if (/^(calls|pkg-|kubelet-installed|kubelet-running|kubeadm-version|kube-apiserver.yaml|apply-fails|kubelet-config.yaml|config.toml)$/.test(file) || file.startsWith("pkg-")) fs.rmSync(path.join(node.dir, file));
    }
    const write = (file: string, text: string) => fs.writeFileSync(path.join(node.dir, file), text);
    const installed = state.installed ?? state.running;
    const kubeadm = state.kubeadm ?? installed;
    write("kubelet-running", `${state.running}\n`);
    write("kubelet-installed", `${installed}\n`);
    write("kubeadm-version", `${kubeadm}\n`);
    for (const [pkg, version] of [["kubeadm", kubeadm], ["kubelet", installed], ["kubectl", installed]]) write(`pkg-${pkg}`, `${version.slice(1)}-1.1`);
    write("kube-apiserver.yaml", `spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:${state.apiserver}\n`);
    write("kubelet-config.yaml", "kind: KubeletConfiguration\nshutdownGracePeriod: 0s\n");
    write("keyring.gpg", "key");
    if (state.applyFails) write("apply-fails", "");
    const result = node.run(rendered, PATHS);
    const read = (file: string) => (fs.existsSync(path.join(node.dir, file)) ? fs.readFileSync(path.join(node.dir, file), "utf8").trim() : "");
    return { status: result.status, output: result.stdout + result.stderr, calls: read("calls") === "" ? [] : read("calls").split("\n"), kubeletConfig: read("kubelet-config.yaml") };
}

describe("the upgrade on the node", () => {
    test("goldens: first control plane (upstream), another control plane and a worker (mirror)", () => {
        expectScriptGolden("upgrade-node-first.sh", renderUpgradeNodeScript(nodeSpec));
        const mirror = { source: "mirror" as const, url: "http://10.0.0.1:8480/kubernetes-v1.38.0" };
        expectScriptGolden("upgrade-node-control-plane-mirror.sh", renderUpgradeNodeScript({ ...nodeSpec, hostname: "lab-2", first: false, packages: mirror }));
        expectScriptGolden("upgrade-node-worker-mirror.sh", renderUpgradeNodeScript({ ...nodeSpec, hostname: "lab-4", role: "worker", first: false, packages: mirror, gracefulShutdown: undefined }));
    });

    test("done: the running kubelet and the API server at the version: nothing runs", () => {
        const result = onNode(renderUpgradeNodeScript(nodeSpec), { running: "v1.38.0", apiserver: "v1.38.0" });
        expect(result).toMatchObject({ status: 0, calls: [] });
        expect(result.output).toContain("lab-1 runs Kubernetes v1.38.0");
    });

    test("the first control plane: kubeadm first, then kubeadm upgrade apply, containerd's pause image, the kubelet and kubectl, and a restart", () => {
        const result = onNode(renderUpgradeNodeScript(nodeSpec), { running: "v1.37.2", apiserver: "v1.37.2" });
        expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
        expect(result.calls).toEqual([
            'apt-get install kubeadm=1.38.0-*',
            "kubeadm upgrade apply v1.38.0 --yes",
            "systemctl restart containerd",
            'apt-get install kubelet=1.38.0-* kubectl=1.38.0-*',
            "systemctl restart kubelet",
        ]);
        expect(result.output).toContain("lab-1 upgraded to Kubernetes v1.38.0");
        // kubeadm rewrote the kubelet's configuration from the cluster's; graceful shutdown is put back
        expect(result.kubeletConfig).toContain("shutdownGracePeriod: 120s");
        expect(result.kubeletConfig).not.toContain("shutdownGracePeriod: 0s");
    });

    test("a kubelet binary replaced but never restarted is not done: the rerun finishes (kubeadm again, as kubeadm allows)", () => {
        const result = onNode(renderUpgradeNodeScript(nodeSpec), { running: "v1.37.2", installed: "v1.38.0", apiserver: "v1.38.0" });
        expect(result.status).toBe(0);
        expect(result.calls).toEqual(["kubeadm upgrade apply v1.38.0 --yes", "systemctl restart containerd", "systemctl restart kubelet"]);
    });

    test("kubeadm upgrade apply failing: the step fails before the kubelet is touched", () => {
        const result = onNode(renderUpgradeNodeScript(nodeSpec), { running: "v1.37.2", apiserver: "v1.37.2", applyFails: true });
        expect(result.status).not.toBe(0);
        expect(result.output).toContain("context deadline exceeded");
        expect(result.calls).toEqual(['apt-get install kubeadm=1.38.0-*', "kubeadm upgrade apply v1.38.0 --yes"]);
    });

    test("on a cgroup v1 host, kubeadm upgrade skips the SystemVerification preflight, as kubeadm init and join do (the upgrade suite of 2026-12-07 failed there)", () => {
        const first = onNode(renderUpgradeNodeScript({ ...nodeSpec, allowCgroupV1: true }), { running: "v1.37.2", apiserver: "v1.37.2" });
        expect(first.status).toBe(0);
        expect(first.calls).toContain("kubeadm upgrade apply v1.38.0 --yes --ignore-preflight-errors=SystemVerification");
        const other = onNode(renderUpgradeNodeScript({ ...nodeSpec, hostname: "lab-2", first: false, allowCgroupV1: true }), { running: "v1.37.2", apiserver: "v1.37.2" });
        expect(other.status).toBe(0);
        expect(other.calls).toContain("kubeadm upgrade node --ignore-preflight-errors=SystemVerification");
        expect(renderUpgradeNodeScript(nodeSpec)).not.toContain("ignore-preflight-errors");
    });

    test("another control plane and a worker: kubeadm upgrade node", () => {
        const controlPlane = onNode(renderUpgradeNodeScript({ ...nodeSpec, hostname: "lab-2", first: false }), { running: "v1.37.2", apiserver: "v1.37.2" });
        expect(controlPlane.status).toBe(0);
        expect(controlPlane.calls).toContain("kubeadm upgrade node");
        expect(controlPlane.calls).not.toContain("kubeadm upgrade apply v1.38.0 --yes");
        const worker = onNode(renderUpgradeNodeScript({ ...nodeSpec, hostname: "lab-4", role: "worker", first: false }), { running: "v1.37.2", apiserver: "none" });
        expect(worker.status).toBe(0);
        expect(worker.calls).toContain("kubeadm upgrade node");
    });

    test("a later kubeadm already on the node: refused, nothing installed", () => {
        const result = onNode(renderUpgradeNodeScript(nodeSpec), { running: "v1.38.1", kubeadm: "v1.38.1", apiserver: "v1.38.1" });
        expect(result.status).toBe(1);
        expect(result.output).toContain("kubeadm v1.38.1 on lab-1 is later than v1.38.0; Kubernetes cannot be downgraded");
        expect(result.calls).toEqual([]);
    });
});

describe("the packages step on a node that has joined at another version", () => {
    const packages = (version: string) => {
        fs.writeFileSync(path.join(node.dir, "kubelet.conf"), "");
        return renderPackagesScript({ source: "upstream" }, version, "lab-2");
    };
    const joined = { "/etc/kubernetes/kubelet.conf": "kubelet.conf", ...PATHS };
    const run = (rendered: string, kubeadm: string) => {
        fs.writeFileSync(path.join(node.dir, "kubeadm-version"), `${kubeadm}\n`);
        fs.rmSync(path.join(node.dir, "calls"), { force: true });
        const result = node.run(rendered, Object.fromEntries(Object.entries(joined).filter(([original]) => rendered.includes(original))));
        return { status: result.status, output: result.stdout + result.stderr, calls: fs.existsSync(path.join(node.dir, "calls")) ? fs.readFileSync(path.join(node.dir, "calls"), "utf8").trim().split("\n") : [] };
    };

    test("an earlier version: nothing installed or restarted here; its upgrade step moves it", () => {
        const result = run(packages("1.38.0"), "v1.37.2");
        expect(result).toMatchObject({ status: 0, calls: [] });
        expect(result.output).toContain("lab-2 runs Kubernetes v1.37.2; its upgrade step moves it to v1.38.0, drained, one node at a time");
    });

    test("a later version: refused, as a downgrade", () => {
        const result = run(packages("1.37.2"), "v1.38.0");
        expect(result).toMatchObject({ status: 1, calls: [] });
        expect(result.output).toContain("lab-2 runs Kubernetes v1.38.0, later than v1.37.2; Kubernetes cannot be downgraded");
    });
});
