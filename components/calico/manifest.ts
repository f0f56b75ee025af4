// Pure renderers for CalicoNetwork's second install method, for labs without the
// tigera operator: Calico's own calico-vxlan.yaml, applied on the admin node with
// this lab's settings as a kustomize overlay (`kubectl apply -k`), so the upstream
// file is never edited by text and the edits are one reviewable file.
import * as YAML from "yaml";
import { exitWhenClusterGone, KUBECTL_FUNCTION } from "../kubectl";
import { renderMirrorFetch } from "../airgap";
import { ManifestSource, manifestSourceProblems, renderFetchFile } from "../manifests/render";
import { ArgProblem } from "../problems";
import { RETRY_FUNCTION, script, shellQuote, writeFileIfChanged } from "../script";
import { plainVersion } from "../version";
import { CalicoSpec, Encapsulation } from "./render";
import { renderCalicoUpgradeCheck } from "./upgrade";

export type InstallMethod = "operator" | "manifest";

/** Where calico-vxlan.yaml comes from. */
export type VxlanManifestSource =
    /** An air-gapped file server: manifests/calico-vxlan.yaml and images/*.tar, checked against its SHA256SUMS. */
    | { kind: "mirror"; url: string }
    /** The upstream file or a copy of it, downloaded by the admin node; images are pulled as usual. */
    | { kind: "url"; url: string }
    /** A file next to the program, copied to the admin node and checked by its sha256. */
    | { kind: "path"; localPath: string; sha256: string };

export interface ManifestInstall extends CalicoSpec {
    source: VxlanManifestSource;
}

export const VXLAN_MANIFEST = "calico-vxlan.yaml";
/** Where the manifest lies on a mirror, relative to it (as in its SHA256SUMS). */
export const MIRROR_VXLAN_MANIFEST_PATH = `manifests/${VXLAN_MANIFEST}`;
/** The manifest and its overlay on the admin node (kept for `kubectl delete -k`); not the operator bundle's directory. */
export const VXLAN_MANIFEST_DIR = "/etc/homelab/manifests/calico-manifest";
/** Where CopyToRemote (which runs as the SSH user, not root) drops a local manifest. */
export const VXLAN_MANIFEST_STAGING = `/tmp/homelab-calico-${VXLAN_MANIFEST}`;
/** What calico-vxlan.yaml runs, all in kube-system. */
export const WORKLOADS = { namespace: "kube-system", daemonSet: "calico-node", deployment: "calico-kube-controllers" };
/** The pool calico-node creates from its environment when there is none. */
export const DEFAULT_POOL = "default-ipv4-ippool";


export function upstreamVxlanManifestUrl(calicoVersion: string): string {
    return `https://raw.githubusercontent.com/projectcalico/calico/v${plainVersion(calicoVersion)}/manifests/${VXLAN_MANIFEST}`;
}

/** The images calico-vxlan.yaml of `version` runs; a mirror's images/*.tar must hold them. */
export function calicoImages(calicoVersion: string): string[] {
    const tag = `v${plainVersion(calicoVersion)}`;
    return ["cni", "node", "kube-controllers"].map((image) => `quay.io/calico/${image}:${tag}`);
}

/**
 * What the install method allows: the manifest method runs VXLAN without BGP and takes its file from
 * the mirror or from manifests, not both; only it reads a mirror (the tigera operator's images are
 * not on one).
 */
export function installMethodProblems(args: { installMethod: InstallMethod; encapsulation: Encapsulation; mirror?: string; manifests: ManifestSource }): ArgProblem[] {
    const problems = manifestSourceProblems(args.manifests);
    if (args.installMethod === "manifest") {
        if (args.encapsulation !== "VXLAN" && args.encapsulation !== "VXLANCrossSubnet") {
            problems.push({ arg: "encapsulation", value: args.encapsulation, message: "is not available with installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)" });
        }
        if (args.mirror && (args.manifests.url || args.manifests.path)) {
            problems.push({ arg: "manifests", value: args.manifests, message: `is set as well as the mirror, which serves ${MIRROR_VXLAN_MANIFEST_PATH}; keep one of them` });
        }
    } else if (args.mirror) {
        problems.push({ arg: "mirror", value: args.mirror, message: "needs installMethod manifest; the tigera operator's images are not on the mirror (for the operator's bundle alone, use manifests)" });
    }
    return problems;
}

/** calico-node's settings: the default pool it creates, the address it picks and Felix's switches. */
function nodeEnvironment(spec: CalicoSpec): { name: string; value: string }[] {
    return [
        // the pool settings take effect once, when calico-node finds no pool (the wait checks them)
        { name: "CALICO_IPV4POOL_CIDR", value: spec.podCidr },
        { name: "CALICO_IPV4POOL_BLOCK_SIZE", value: String(spec.blockSize) },
        { name: "CALICO_IPV4POOL_VXLAN", value: vxlanMode(spec) },
        { name: "CALICO_IPV4POOL_IPIP", value: "Never" },
        { name: "CALICO_IPV4POOL_NAT_OUTGOING", value: String(spec.natOutgoing) },
        // nodes have two NICs; the first-found default would often pick the outside one
        { name: "IP_AUTODETECTION_METHOD", value: `cidr=${spec.nodeAddressCidr}` },
        // no XDP programs: the images carry no BPF objects
        { name: "FELIX_XDPENABLED", value: "false" },
        // felix's start-up cleanup of BPF connect-time load balancing calls libbpf, which an image
        // built without cgo (ours, offline) only stubs: it panics. Nothing to clean without the BPF dataplane.
        { name: "FELIX_DebugSkipCTLBCleanup", value: "true" },
        { name: "FELIX_WIREGUARDENABLED", value: String(spec.wireguard) },
    ];
}

function vxlanMode(spec: CalicoSpec): "Always" | "CrossSubnet" {
    return spec.encapsulation === "VXLANCrossSubnet" ? "CrossSubnet" : "Always";
}

/** The kustomization that applies calico-vxlan.yaml with this lab's settings (strategic merge patches, env merged by name). */
export function renderKustomization(spec: CalicoSpec): string {
    const configMap = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "calico-config", namespace: WORKLOADS.namespace },
        // "0" leaves the MTU to Calico's detection
        data: { calico_backend: "vxlan", veth_mtu: String(spec.mtu) },
    };
    const daemonSet = {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: WORKLOADS.daemonSet, namespace: WORKLOADS.namespace },
        spec: { template: { spec: { containers: [{ name: "calico-node", env: nodeEnvironment(spec) }] } } },
    };
    const kustomization = {
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [VXLAN_MANIFEST],
        patches: [configMap, daemonSet].map((patch) => ({ patch: YAML.stringify(patch) })),
    };
    return `# Calico ${plainVersion(spec.version)}: the upstream ${VXLAN_MANIFEST} with this lab's settings (kubectl apply -k)\n${YAML.stringify(kustomization)}`;
}

function describeSource(source: VxlanManifestSource): string {
    if (source.kind === "mirror") return `${source.url.replace(/\/+$/, "")}/${MIRROR_VXLAN_MANIFEST_PATH}`;
    if (source.kind === "url") return source.url;
    // not the local path: where the program is checked out must not change what runs on the node
    return `the ${VXLAN_MANIFEST} Pulumi copied (sha256 ${source.sha256.slice(0, 12)})`;
}

function fetchManifest(source: VxlanManifestSource): string {
    const target = `${VXLAN_MANIFEST_DIR}/${VXLAN_MANIFEST}`;
    if (source.kind === "mirror") {
        return `${renderMirrorFetch(source.url, "$(hostname)")}
fetch ${MIRROR_VXLAN_MANIFEST_PATH} "$work/${VXLAN_MANIFEST}"
install -m 644 "$work/${VXLAN_MANIFEST}" ${target}`;
    }
    return renderFetchFile(source.kind === "url" ? { url: source.url } : { staged: VXLAN_MANIFEST_STAGING, sha256: source.sha256 }, target, VXLAN_MANIFEST);
}

/** On the admin node: fetch calico-vxlan.yaml, check it is the pinned release, write the overlay and apply both (server-side, so a re-run changes nothing). */
export function renderManifestApplyScript(install: ManifestInstall): string {
    const version = plainVersion(install.version);
    const nodeImage = `calico/node:v${version}`;
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        renderCalicoUpgradeCheck(version),
        `# Calico ${version} from ${describeSource(install.source)}
dir=${VXLAN_MANIFEST_DIR}
install -d -m 755 "$dir"`,
        fetchManifest(install.source),
        `# the manifest must be the pinned release: its images are the ones the nodes have
if ! grep -F ${shellQuote(nodeImage)} "$dir/${VXLAN_MANIFEST}" >/dev/null; then
  echo ${shellQuote(`${describeSource(install.source)} is not Calico ${version}: it names no ${nodeImage} image; set calico.version to the release it holds`)} >&2
  exit 1
fi`,
        `CHANGED=0
${writeFileIfChanged(`${VXLAN_MANIFEST_DIR}/kustomization.yaml`, renderKustomization(install), "644")}
if [ "$CHANGED" = 1 ]; then echo "wrote $dir/kustomization.yaml"; fi`,
        `# server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply
retry 5 10 kc apply --server-side --force-conflicts -k "$dir" >/dev/null
echo "Calico ${version} applied from ${VXLAN_MANIFEST} (${install.encapsulation}, pods in ${install.podCidr})"`,
    );
}

/** Deletes what the manifest created; a cluster that is already gone (or never answered) is not an error. */
export function renderManifestDeleteScript(): string {
    return script(
        KUBECTL_FUNCTION,
        exitWhenClusterGone("nothing to delete for Calico"),
        `if [ -f ${VXLAN_MANIFEST_DIR}/kustomization.yaml ]; then
  kc delete -k ${VXLAN_MANIFEST_DIR} --ignore-not-found --wait=false >/dev/null || echo "could not delete everything ${VXLAN_MANIFEST} created; continuing" >&2
fi
rm -rf ${VXLAN_MANIFEST_DIR}
echo "Calico (${VXLAN_MANIFEST}) deleted"`,
    );
}

/** Waits on the admin node for calico-node and calico-kube-controllers, checks the default pool, then every node Ready. */
export function renderManifestWaitScript(install: ManifestInstall): string {
    const { namespace, daemonSet, deployment } = WORKLOADS;
    const pool = `{{.spec.cidr}} {{.spec.blockSize}} {{.spec.vxlanMode}} {{if .spec.natOutgoing}}true{{else}}false{{end}}`;
    const want = `${install.podCidr} ${install.blockSize} ${vxlanMode(install)} ${install.natOutgoing}`;
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        `# rollout ROLLOUT SECONDS SELECTOR: wait, and show the pods when it does not finish in time
rollout() {
  if ! retry 2 10 kc -n ${namespace} rollout status "$1" --timeout="$2s"; then
    echo "$1 in ${namespace} did not finish rolling out (tried twice, $2s each); its pods:" >&2
    kc -n ${namespace} get pods -l "$3" -o wide >&2 || true
    exit 1
  fi
}
echo "waiting for Calico ${plainVersion(install.version)} (${VXLAN_MANIFEST}) to roll out"
rollout daemonset/${daemonSet} 600 k8s-app=${daemonSet}
rollout deployment/${deployment} 300 k8s-app=${deployment}`,
        `# calico-node creates the default pool once, when there is none, and never changes it
pool=$(retry 6 10 kc get ippools.crd.projectcalico.org ${DEFAULT_POOL} -o go-template=${shellQuote(pool)})
want=${shellQuote(want)}
if [ "$pool" != "$want" ]; then
  echo "IP pool ${DEFAULT_POOL} has cidr, blockSize, vxlanMode, natOutgoing = $pool, but the config asks for $want;" >&2
  echo "Calico does not change an existing pool: edit it (kubectl edit ippools.crd.projectcalico.org ${DEFAULT_POOL}) or set the config back" >&2
  exit 1
fi`,
        `# nodes turn Ready once the CNI works on them
retry 3 10 kc wait --for=condition=Ready nodes --all --timeout=300s
echo "Calico ${plainVersion(install.version)} is available (${install.encapsulation}${install.wireguard ? ", WireGuard" : ""}) and every node is Ready"`,
    );
}
