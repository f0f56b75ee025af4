// Pure: upstream operator bundles (Calico's tigera-operator, Rook's crds/common/operator)
// applied with kubectl on the first control plane, and how the admin node gets any file it
// applies: it downloads it at `up` time (so a preview never needs the internet), or takes the
// copy Pulumi staged for it (air-gapped) after checking its sha256. No Pulumi SDK here.
import { createHash } from "crypto";
import { exitWhenClusterGone, KUBECTL_FUNCTION } from "../kubectl";
import { ArgProblem } from "../problems";
import { RETRY_FUNCTION, script, shellQuote } from "../script";

/** Where a bundle comes from, as the stack config says it (storage.manifests, calico.manifests). */
export interface ManifestSource {
    /** Another URL than the pinned upstream one (a mirror), e.g. http://mirror.lan/calico/. */
    url?: string;
    /** A file or directory next to the program, for an air-gapped lab, e.g. manifests/calico. */
    path?: string;
}

/** What a manifest source cannot be: both a URL and a local path. */
export function manifestSourceProblems(source: ManifestSource): ArgProblem[] {
    return source.url && source.path ? [{ arg: "manifests", value: source, message: "sets both url and path; choose one" }] : [];
}

/** One manifest file of a bundle: downloaded by the node (url) or copied to it (localPath + sha256). */
export interface ManifestFile {
    /** File name on the node, e.g. tigera-operator.yaml. */
    name: string;
    /** e.g. https://raw.githubusercontent.com/projectcalico/calico/v3.30.3/manifests/tigera-operator.yaml */
    url?: string;
    /** Absolute path on the machine running Pulumi. */
    localPath?: string;
    /** sha256 of the local file, checked on the node after the copy. */
    sha256?: string;
}

export interface ManifestBundle {
    /** Short name, used for directories on the node, e.g. calico. */
    id: string;
    /** The version the bundle belongs to, e.g. 3.30.3. */
    version: string;
    /** Applied in this order and deleted in the reverse order. */
    files: ManifestFile[];
    /** The deployment the bundle runs; it carries the marker of the bundle applied last. */
    operator: { namespace: string; deployment: string };
    /** A bash section run after every apply, e.g. operator settings this program owns. */
    afterApply?: string;
    /** A bash section run before a bundle other than the running one is applied, that exits non-zero to refuse it, e.g. an upgrade's checks; nothing is applied then. */
    beforeChange?: string;
}

/** A custom resource as a renderer returns it (golden-tested as YAML, created with @pulumi/kubernetes). */
export interface KubernetesObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
}

/** The annotation on the operator deployment that records which bundle was applied. */
export const BUNDLE_ANNOTATION = "homelab/bundle";

/** Where a bundle's files live on the admin node (kept for `kubectl delete -f`). */
export function bundleDir(bundle: ManifestBundle): string {
    return `/etc/homelab/manifests/${bundle.id}`;
}

/** Where CopyToRemote (which runs as the SSH user, not root) drops a local file. */
export function stagingPath(bundle: ManifestBundle, file: ManifestFile): string {
    return `/tmp/homelab-${bundle.id}-${file.name}`;
}

/** Version plus a digest of every source: changes whenever what would be applied changes. */
export function bundleFingerprint(bundle: ManifestBundle): string {
    const sources = bundle.files.map((file) => `${file.name}=${file.sha256 ?? file.url}`).join("\n");
    return `${bundle.version}-${createHash("sha256").update(sources).digest("hex").slice(0, 16)}`;
}

/** How the admin node gets one file: a URL it downloads, or a local file Pulumi copied to `staged`, checked by its sha256. */
export type FileSource = { url: string } | { staged: string; sha256: string };

/** Bash that puts the file from `source` at `path` (its directory exists), refusing a staged copy whose sha256 is not the one Pulumi read. */
export function renderFetchFile(source: FileSource, path: string, name: string): string {
    const target = shellQuote(path);
    if ("url" in source) {
        return `retry 5 10 curl -fsSL --connect-timeout 20 -o ${shellQuote(`${path}.part`)} ${shellQuote(source.url)}
mv ${shellQuote(`${path}.part`)} ${target}`;
    }
    const staged = shellQuote(source.staged);
    return `if [ -f ${staged} ]; then
  install -m 644 ${staged} ${target}
  rm -f ${staged}
fi
# the copy is checked, so a stale or tampered file is never applied
echo ${shellQuote(`${source.sha256}  ${path}`)} | sha256sum -c --quiet - \\
  || { echo "${name} on this node is not the file Pulumi copied (sha256 mismatch)" >&2; exit 1; }`;
}

/** Where one file of a bundle comes from, as renderFetchFile takes it. */
export function fileSourceOf(bundle: ManifestBundle, file: ManifestFile): FileSource {
    if (file.url) return { url: file.url };
    if (!file.localPath || !file.sha256) throw new Error(`manifest ${file.name} has neither a url nor a local path with its sha256`);
    return { staged: stagingPath(bundle, file), sha256: file.sha256 };
}

/** Applies the bundle on the admin node unless the operator already carries this bundle's marker. */
export function renderApplyBundleScript(bundle: ManifestBundle): string {
    const { namespace, deployment } = bundle.operator;
    const wanted = bundleFingerprint(bundle);
    const dir = shellQuote(bundleDir(bundle));
    const marker = `{{index .metadata.annotations "${BUNDLE_ANNOTATION}"}}`;
    const apply = bundle.files.map((file) => `retry 5 10 kc apply --server-side --force-conflicts -f ${shellQuote(`${bundleDir(bundle)}/${file.name}`)}`).join("\n");
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        `# ${bundle.id} ${bundle.version}: skip when the operator already runs this very bundle
current=$(kc -n ${namespace} get deployment ${deployment} -o go-template=${shellQuote(marker)} 2>/dev/null || true)
if [ "$current" = ${shellQuote(wanted)} ]; then
  echo "${bundle.id} operator bundle ${wanted} is already applied"
else
${bundle.beforeChange ? `${indent(bundle.beforeChange)}
` : ""}  install -d -m 755 ${dir}
${indent(bundle.files.map((file) => renderFetchFile(fileSourceOf(bundle, file), `${bundleDir(bundle)}/${file.name}`, file.name)).join("\n"))}
  # server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply
${indent(apply)}
  # custom resources of the bundle's kinds are refused until their CRDs are established
  retry 3 10 kc wait --for=condition=Established crd --all --timeout=120s >/dev/null
  retry 3 10 kc -n ${namespace} rollout status deployment/${deployment} --timeout=300s
  kc -n ${namespace} annotate deployment ${deployment} ${BUNDLE_ANNOTATION}=${shellQuote(wanted)} --overwrite >/dev/null
  echo "${bundle.id} operator bundle ${wanted} applied"
fi`,
        ...(bundle.afterApply ? [bundle.afterApply] : []),
    );
}

/** Deletes the bundle; a cluster that is already gone (or never answered) is not an error. */
export function renderDeleteBundleScript(bundle: ManifestBundle): string {
    const deletes = [...bundle.files].reverse().map((file) => {
        const local = shellQuote(`${bundleDir(bundle)}/${file.name}`);
        // the URL comes from the stack config: quoted whole, it can hold nothing the shell would run
        const fallback = file.url ? `\nelif ! kc delete -f ${shellQuote(file.url)} --ignore-not-found --wait=false; then\n  echo ${shellQuote(`could not delete ${file.name} (fetched from ${file.url}); continuing`)} >&2` : "";
        return `if [ -f ${local} ]; then
  kc delete -f ${local} --ignore-not-found --wait=false || echo "could not delete everything in ${file.name}; continuing" >&2${fallback}
fi`;
    });
    return script(
        KUBECTL_FUNCTION,
        exitWhenClusterGone(`nothing to delete for ${bundle.id}`),
        deletes.join("\n"),
        `rm -rf ${shellQuote(bundleDir(bundle))}\necho "${bundle.id} operator bundle deleted"`,
    );
}

function indent(text: string): string {
    return text.split("\n").map((line) => (line ? `  ${line}` : line)).join("\n");
}

