// Pure renderers for an air-gapped file server laid out as offline/build-kubernetes.sh
// writes it: a SHA256SUMS with relative paths, every file checked against it before
// use, and image archives (images/<name>.tar) imported into containerd once per
// checksum. The text is the same as components/kubeadm/mirror.ts renders for the
// Kubernetes mirror (test/calico.test.ts checks it), so that file can use these too.
import { RETRY_FUNCTION, script, shellQuote } from "./script";

/** One file per imported archive, holding its checksum: the import is skipped while it matches. */
export const IMPORTED_IMAGES_DIR = "/var/lib/homelab/images";

/**
 * Bash that reads `<url>/SHA256SUMS` into a scratch directory ($work, removed on exit) and
 * defines `sum_of PATH` and `fetch PATH DEST` (download and check). Needs RETRY_FUNCTION.
 * `hostname` names the machine in the error, e.g. home-server-1 or "$(hostname)".
 */
export function renderMirrorFetch(url: string, hostname: string): string {
    const base = url.replace(/\/+$/, "");
    return `# every file is checked against the mirror's SHA256SUMS before it is used
mirror=${shellQuote(base)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
retry 5 5 curl -fsS --connect-timeout 10 -o "$work/SHA256SUMS" "$mirror/SHA256SUMS" || { echo "cannot read $mirror/SHA256SUMS from ${hostname}" >&2; exit 1; }
sum_of() { awk -v path="$1" '$2 == path { print $1 }' "$work/SHA256SUMS"; }
fetch() { # fetch PATH DEST
  local want_sum
  want_sum=$(sum_of "$1")
  if [ -z "$want_sum" ]; then echo "$1 is not listed in $mirror/SHA256SUMS" >&2; exit 1; fi
  retry 5 5 curl -fsS --connect-timeout 10 -o "$2" "$mirror/$1" || { echo "cannot download $mirror/$1" >&2; exit 1; }
  if ! echo "$want_sum  $2" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "$mirror/$1 does not match its SHA256SUMS entry" >&2
    exit 1
  fi
}`;
}

export interface ImageImportOptions {
    /** The comment above the loop, saying whose images these are. */
    comment: string;
    /** Prepended to each archive's stamp file name, so two mirrors' images/node.tar do not share one, e.g. calico-. */
    stampPrefix?: string;
}

/** Where the checksum of an imported archive is kept, as bash (uses $name). */
export function stampPath(stampPrefix = ""): string {
    return `${IMPORTED_IMAGES_DIR}/${stampPrefix}$name.sha256`;
}

/** Bash that imports every images/*.tar the mirror lists into containerd, skipping archives already imported at that checksum. Needs renderMirrorFetch. */
export function renderImageImport(options: ImageImportOptions): string {
    const stamp = stampPath(options.stampPrefix);
    return `# ${options.comment}
install -d -m 755 ${IMPORTED_IMAGES_DIR}
for archive in $(awk '$2 ~ /^images\\/[^/]+\\.tar$/ { print $2 }' "$work/SHA256SUMS"); do
  name=$(basename "$archive" .tar)
  want_sum=$(sum_of "$archive")
  if [ "$(cat "${stamp}" 2>/dev/null)" = "$want_sum" ]; then
    continue
  fi
  started=$SECONDS
  fetch "$archive" "$work/$name.tar"
  ctr -n k8s.io images import "$work/$name.tar" >/dev/null
  echo "$want_sum" > "${stamp}"
  rm -f "$work/$name.tar"
  # the seconds are read by the lab's figures (how much of an up is image import)
  echo "imported image archive $name from $mirror in $((SECONDS - started)) s"
done`;
}

/** A release whose image archives a mirror serves, imported on every node before its pods start there. */
export interface MirroredImages {
    /** e.g. http://10.0.0.1:8480/calico-v3.31.0 */
    mirror: string;
    /** The node the script runs on, for messages, e.g. home-server-1. */
    hostname: string;
    /** Who the images are for, e.g. Calico. */
    owner: string;
    /** The release, e.g. 3.31.0. */
    version: string;
    /** The config key that picks the release, e.g. calico.version. */
    versionKey: string;
    /** What must find the images on the node, e.g. calico-node. */
    consumer: string;
    /** The images the release runs, exactly as its manifests name them. */
    images: string[];
    /** Prepended to the archives' stamp files, apart from other mirrors' (images/node.tar is not kube's), e.g. calico-. */
    stampPrefix: string;
}

/** On one node: imports `<mirror>/images/*.tar` (each checked against SHA256SUMS, once per checksum) and checks the pinned images are there. */
export function renderMirroredImagesImportScript(spec: MirroredImages): string {
    const { hostname, owner, version, images } = spec;
    return script(
        RETRY_FUNCTION,
        `if ! command -v ctr >/dev/null 2>&1; then
  echo "ctr is missing on ${hostname}; ${owner}'s images go into containerd, which the cluster's nodes run" >&2
  exit 1
fi`,
        renderMirrorFetch(spec.mirror, hostname),
        `# a stamp whose image is gone (removed by hand, or by the kubelet's image GC) must not skip the import
for image in ${images.join(" ")}; do
  if ! ctr -n k8s.io images ls -q | grep -Fx "$image" >/dev/null; then
    rm -f ${IMPORTED_IMAGES_DIR}/${spec.stampPrefix}*.sha256
    break
  fi
done`,
        renderImageImport({
            comment: `${owner}'s images go straight into containerd before ${spec.consumer} starts here: nothing is pulled from a registry`,
            stampPrefix: spec.stampPrefix,
        }),
        `# the archives must hold the images ${owner} ${version} runs
for image in ${images.join(" ")}; do
  if ! ctr -n k8s.io images ls -q | grep -Fx "$image" >/dev/null; then
    echo "$image is not in containerd on ${hostname} after importing $mirror/images/*.tar; does the mirror hold ${owner} ${version} (${spec.versionKey})?" >&2
    exit 1
  fi
done
echo "${owner} ${version} images are in containerd on ${hostname}"`,
    );
}

/** On one node, on delete: removes the release's images and their stamps, so a later import starts clean. */
export function renderMirroredImagesRemoveScript(spec: Pick<MirroredImages, "hostname" | "owner" | "version" | "images" | "stampPrefix">): string {
    return script(
        `if ! command -v ctr >/dev/null 2>&1; then
  echo "no containerd on ${spec.hostname}; no ${spec.owner} images to remove"
  exit 0
fi
for image in ${spec.images.join(" ")}; do
  ctr -n k8s.io images rm "$image" >/dev/null 2>&1 || true
done
rm -f ${IMPORTED_IMAGES_DIR}/${spec.stampPrefix}*.sha256
echo "${spec.owner} ${spec.version} images removed from ${spec.hostname}"`,
    );
}
