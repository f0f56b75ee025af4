// Pure renderers of KubeadmCluster's rolling upgrade: one node at a time, the first control plane
// first, then the other control planes, then the workers. Per node three steps, each idempotent and
// each a resource of its own, so that a rerun after a failure resumes at the step that failed and
// never drains a node that is done:
//   drain    (on the first control plane) the gates, then cordon and drain, bounded;
//   upgrade  (on the node) kubeadm, `kubeadm upgrade apply|node`, containerd's pause image, kubelet;
//   release  (on the first control plane) the node Ready at the new version, uncordoned, the gates.
// A node whose kubelet already runs the wanted version passes through all three at once.
import { DRAIN_FUNCTION, KUBECTL_FUNCTION } from "../kubectl";
import { APT_FUNCTION, NEWER_FUNCTION, RETRY_FUNCTION, script, shellQuote } from "../script";
import { renderMirrorInstall } from "./mirror";
import { containerdSection, PackageSource, upstreamInstall } from "./packages";
import { GracefulShutdown, gracefulShutdownFields, NodeRole } from "./config";
import { DRAIN_TIMEOUT_SECONDS } from "./departures";
import { plainVersion } from "../version";

/** On a Node while this program upgrades it: the version it is moving to. Its presence is what a rerun resumes from. */
export const UPGRADING_ANNOTATION = "homelab.dev/upgrading-to";
/** On a Node the user had cordoned before its upgrade: it stays cordoned after. */
const CORDONED_BEFORE = "cordoned-before";
/** How long a node's kubelet and control plane get to answer after the upgrade. */
export const UPGRADE_SETTLE_SECONDS = 300;

/** A check run between nodes on the first control plane (with `kc`), e.g. Ceph's wait for HEALTH_OK: a script that exits 0 when healthy and says why not otherwise. */
export interface HealthGate {
    /** What it checks, for the messages, e.g. "Ceph". */
    what: string;
    /** The whole script, e.g. RookCeph's wait for HEALTH_OK with every OSD up and in. */
    script: string;
}

export interface UpgradeStepSpec {
    hostname: string;
    role: NodeRole;
    /** e.g. 1.37.2 or v1.37.2 */
    version: string;
    /** How many nodes the config has: the only node is not drained (its pods could go nowhere). */
    nodeCount: number;
    healthGate?: HealthGate;
    drainTimeoutSeconds?: number;
}

/**
 * \`gates WHEN\`, after KUBECTL_FUNCTION: every node Ready, and the gate's script (written to a file
 * here, run by bash there) succeeds; otherwise it says what is not and fails.
 */
function gatesFunction(gate: HealthGate | undefined): string {
    const file = gate ? `gate=$(mktemp)
trap 'rm -f "$gate"' EXIT
cat > "$gate" <<'HOMELAB_GATE'
${gate.script.trimEnd()}
HOMELAB_GATE
` : "";
    const check = gate ? `
  if ! bash "$gate"; then
    echo "${gate.what} is not healthy $1: the upgrade stops here, and the next up goes on from this node" >&2
    return 1
  fi` : "";
    return `${file}gates() {
  local not_ready
  not_ready=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}' | awk '$2 != "True" { printf "%s ", $1 }')
  if [ -n "$not_ready" ]; then
    echo "not Ready $1: $not_ready; the upgrade goes on once every node is Ready" >&2
    return 1
  fi${check}
}`;
}

/** The node's kubelet version and our annotation, read on the first control plane. */
function readNode(hostname: string): string {
    return `node=${shellQuote(hostname)}
kubelet_version=$(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
upgrading=$(kc get node "$node" -o jsonpath='{.metadata.annotations.homelab\\.dev/upgrading-to}')`;
}

/**
 * On the first control plane, before a node's upgrade: nothing when its kubelet runs `version`
 * already; otherwise, unless a run before this one had begun it (the annotation), every node must
 * be Ready and the gate pass (nothing is touched when not); then the node is annotated, cordoned and
 * drained, bounded (on a timeout it is uncordoned and the step fails naming the pods and budgets).
 */
export function renderUpgradeDrainScript(spec: UpgradeStepSpec): string {
    const want = `v${plainVersion(spec.version)}`;
    return script(
        KUBECTL_FUNCTION,
        DRAIN_FUNCTION,
        gatesFunction(spec.healthGate),
        readNode(spec.hostname),
        `want=${want}
if [ "$kubelet_version" = "$want" ]; then
  if [ -n "$upgrading" ]; then echo "$node runs Kubernetes $want already: its release step finishes its upgrade"; else echo "$node runs Kubernetes $want: nothing to upgrade"; fi
  exit 0
fi
if [ -n "$upgrading" ] && [ "\${upgrading%% *}" != "$want" ]; then
  echo "$node is half-way through an upgrade to \${upgrading%% *}, not $want: set kubernetes.version to \${upgrading%% *} and run up again to finish that first" >&2
  exit 1
fi
if [ -z "$upgrading" ]; then
  # nothing is touched unless the cluster is healthy; a run that began this node already passed here
  gates "before $node is drained" || exit 1
  upgrading=$want
  if [ "$(kc get node "$node" -o jsonpath='{.spec.unschedulable}')" = true ]; then upgrading="$want ${CORDONED_BEFORE}"; fi
  kc annotate node "$node" --overwrite "${UPGRADING_ANNOTATION}=$upgrading" >/dev/null
  echo "upgrading $node from $kubelet_version to $want"
else
  echo "$node's upgrade to $want was begun by an earlier run: going on from there"
fi`,
        spec.nodeCount === 1
            ? `echo "$node is the only node: not drained (its pods restart with its kubelet)"`
            : `# a node that lost power in its drain last time may still be coming back: its drain waits for it, bounded
waited=0
until [ "$(node_ready "$node")" = True ]; do
  if [ "$waited" -ge ${UPGRADE_SETTLE_SECONDS} ]; then
    echo "$node is not Ready after ${UPGRADE_SETTLE_SECONDS} s, so it cannot be drained: power it on (or take it out of the config) and run pulumi up again" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
drain_node "$node" ${spec.drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS} uncordon || exit 1`,
    );
}

export interface UpgradeNodeSpec {
    hostname: string;
    role: NodeRole;
    /** The first control plane runs `kubeadm upgrade apply`; every other node `kubeadm upgrade node`. */
    first: boolean;
    version: string;
    packages: PackageSource;
    gracefulShutdown?: GracefulShutdown;
    /** Where the API server listens on a control plane, e.g. 6443. */
    apiPort: number;
    /** A cgroup v1 host: kubeadm's SystemVerification preflight fails there since 1.35, at upgrade as at init (ClusterSpec.allowCgroupV1). */
    allowCgroupV1?: boolean;
}

/** `kubeadm upgrade apply` (first control plane) or `kubeadm upgrade node`, as bash: both skip what is already at the version, and kubeadm documents both as safe to run again after a failure. */
function kubeadmUpgrade(spec: UpgradeNodeSpec, want: string): string {
    const preflight = spec.allowCgroupV1 ? " --ignore-preflight-errors=SystemVerification" : "";
    if (spec.first) {
        return `# the cluster's control plane moves with the first control plane (this also renews its certificates)
kubeadm upgrade apply ${want} --yes${preflight}
echo "kubeadm upgrade apply ${want} done on ${spec.hostname}"`;
    }
    const what = spec.role === "control-plane" ? "this control plane's static pods and the kubelet's configuration" : "the kubelet's configuration";
    return `# ${what}, from the cluster's
kubeadm upgrade node${preflight}
echo "kubeadm upgrade node done on ${spec.hostname}"`;
}

/** Graceful shutdown's fields in the kubelet's configuration again: kubeadm upgrade rewrites that file from the cluster's. */
function gracefulShutdownAgain(shutdown: GracefulShutdown | undefined): string {
    if (shutdown === undefined) return "";
    const fields = Object.entries(gracefulShutdownFields(shutdown));
    return `# graceful node shutdown, in case the cluster's kubelet configuration predates it
config=/var/lib/kubelet/config.yaml
${fields.map(([key, value]) => `grep -Fx ${shellQuote(`${key}: ${value}`)} "$config" >/dev/null || { sed -i -E '/^${key}:/d' "$config"; printf '%s\\n' ${shellQuote(`${key}: ${value}`)} >> "$config"; }`).join("\n")}`;
}

/**
 * On the node, drained: the packages of `version` (kubeadm first, from pkgs.k8s.io or the mirror),
 * `kubeadm upgrade apply` on the first control plane or `kubeadm upgrade node` elsewhere,
 * containerd's sandbox image for the new kubeadm, then the kubelet and kubectl and a restart of the
 * kubelet. Done means the kubelet process runs the new binary and answers, and on a control plane
 * the API server's static pod is the new version and answers.
 */
export function renderUpgradeNodeScript(spec: UpgradeNodeSpec): string {
    const want = plainVersion(spec.version);
    const controlPlane = spec.role === "control-plane";
    const install = spec.packages.source === "upstream"
        ? { kubeadm: upstreamInstall(want, spec.hostname, ["kubeadm"]).join("\n"), kubelet: upstreamInstall(want, spec.hostname, ["kubelet", "kubectl"]).join("\n") }
        // the mirror's binaries go in together; the running kubelet keeps the old one until its restart below
        : { kubeadm: renderMirrorInstall(spec.packages.url, spec.hostname), kubelet: "" };
    return script(
        RETRY_FUNCTION,
        APT_FUNCTION,
        NEWER_FUNCTION,
        `want=${want}
apiserver_image_version() { sed -n 's#^[[:space:]-]*image:.*/kube-apiserver:\\(v[^[:space:]"]*\\).*#\\1#p' /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null | head -n 1; }
# the kubelet that runs: the binary it was started from, and whether that file was replaced since
running_kubelet() {
  local pid exe
  pid=$(systemctl show -p MainPID --value kubelet 2>/dev/null || echo 0)
  [ "\${pid:-0}" != 0 ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$exe" in *" (deleted)") return 1 ;; esac
  "$exe" --version 2>/dev/null | awk '{ print $2 }'
}
upgraded() {
  [ "$(running_kubelet)" = "v$want" ] && curl -sf --max-time 5 http://127.0.0.1:10248/healthz >/dev/null || return 1
${controlPlane ? `  [ "$(apiserver_image_version)" = "v$want" ] && curl -ksf --max-time 5 https://127.0.0.1:${spec.apiPort}/readyz >/dev/null || return 1\n` : ""}}
if upgraded; then
  echo "${spec.hostname} runs Kubernetes v$want"
  exit 0
fi
have=$(kubeadm version -o short 2>/dev/null || true)
if newer "$have" "v$want"; then
  echo "kubeadm $have on ${spec.hostname} is later than v$want; Kubernetes cannot be downgraded" >&2
  exit 1
fi
dpkg_ready`,
        `# 1. kubeadm of the new version
${install.kubeadm}`,
        `# 2. the control plane or the kubelet's configuration
${kubeadmUpgrade(spec, `v${want}`)}`,
        containerdSection(want),
        gracefulShutdownAgain(spec.gracefulShutdown),
        `# 3. the kubelet and kubectl
${install.kubelet}
systemctl daemon-reload
systemctl restart kubelet`,
        `# done once the new kubelet (and on a control plane the new API server) answers
waited=0
until upgraded; do
  if [ "$waited" -ge ${UPGRADE_SETTLE_SECONDS} ]; then
    echo "${spec.hostname}: the kubelet${controlPlane ? " or the API server" : ""} did not answer at v$want within ${UPGRADE_SETTLE_SECONDS} s (kubelet: $(running_kubelet || echo "not running"))" >&2
    journalctl -u kubelet -n 20 --no-pager >&2 || true
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
echo "${spec.hostname} upgraded to Kubernetes v$want"`,
    );
}

/**
 * On the first control plane, after a node's upgrade: the node Ready with its kubelet at
 * `version` (bounded), uncordoned unless the user had cordoned it, then the gates; the annotation
 * goes last, so that a rerun after a failed gate comes back here and not to the drain.
 */
export function renderUpgradeReleaseScript(spec: UpgradeStepSpec): string {
    const want = `v${plainVersion(spec.version)}`;
    return script(
        KUBECTL_FUNCTION,
        gatesFunction(spec.healthGate),
        readNode(spec.hostname),
        `want=${want}
if [ -z "$upgrading" ]; then
  echo "$node (kubelet $kubelet_version) is not being upgraded: nothing to release"
  exit 0
fi
waited=0
until [ "$(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "$want True" ]; do
  if [ "$waited" -ge ${UPGRADE_SETTLE_SECONDS} ]; then
    echo "$node is not Ready at $want after ${UPGRADE_SETTLE_SECONDS} s: $(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion} Ready={.status.conditions[?(@.type=="Ready")].status}' 2>&1)" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
case "$upgrading" in
  *" ${CORDONED_BEFORE}") echo "$node stays cordoned, as it was before its upgrade" ;;
  *) kc uncordon "$node" >/dev/null; echo "$node uncordoned" ;;
esac`,
        `gates "after $node's upgrade" || exit 1`,
        `kc annotate node "$node" "${UPGRADING_ANNOTATION}-" >/dev/null
echo "$node runs Kubernetes $want"`,
    );
}

/** The order nodes are upgraded in: the first control plane, the other control planes, then the workers, each in config order. */
export function upgradeOrder<T extends { role: NodeRole }>(nodes: T[]): T[] {
    return [...nodes.filter((node) => node.role === "control-plane"), ...nodes.filter((node) => node.role === "worker")];
}
