// Pure renderers for the air-gapped manifest install: Calico's image archives from
// the mirror imported into containerd on every node before calico-node runs there,
// with the same checks and stamps as the Kubernetes images (components/airgap.ts).
import { IMPORTED_IMAGES_DIR, renderImageImport, renderMirrorFetch } from "../airgap";
import { RETRY_FUNCTION, script } from "../script";
import { calicoImages } from "./manifest";
import { plainVersion } from "./render";

/** Stamp files of Calico's archives carry this prefix, apart from the Kubernetes mirror's (images/node.tar is not kube's). */
export const STAMP_PREFIX = "calico-";

/** On one node: imports `<mirror>/images/*.tar` (each checked against SHA256SUMS, once per checksum) and checks the pinned images are there. */
export function renderImageImportScript(spec: { version: string; mirror: string }, hostname: string): string {
    const version = plainVersion(spec);
    const images = calicoImages(version);
    return script(
        RETRY_FUNCTION,
        `if ! command -v ctr >/dev/null 2>&1; then
  echo "ctr is missing on ${hostname}; Calico's images go into containerd, which the cluster's nodes run" >&2
  exit 1
fi`,
        renderMirrorFetch(spec.mirror, hostname),
        `# a stamp whose image is gone (removed by hand, or by the kubelet's image GC) must not skip the import
for image in ${images.join(" ")}; do
  if ! ctr -n k8s.io images ls -q | grep -Fx "$image" >/dev/null; then
    rm -f ${IMPORTED_IMAGES_DIR}/${STAMP_PREFIX}*.sha256
    break
  fi
done`,
        renderImageImport({
            comment: `Calico's images go straight into containerd before calico-node starts here: nothing is pulled from a registry`,
            stampPrefix: STAMP_PREFIX,
        }),
        `# the archives must hold the images calico-vxlan.yaml ${version} runs
for image in ${images.join(" ")}; do
  if ! ctr -n k8s.io images ls -q | grep -Fx "$image" >/dev/null; then
    echo "$image is not in containerd on ${hostname} after importing $mirror/images/*.tar; does the mirror hold Calico ${version} (calico.version)?" >&2
    exit 1
  fi
done
echo "Calico ${version} images are in containerd on ${hostname}"`,
    );
}

/** On one node, on delete: removes Calico's images and their stamps, so a later import starts clean. */
export function renderImageRemoveScript(spec: { version: string }, hostname: string): string {
    return script(
        `if ! command -v ctr >/dev/null 2>&1; then
  echo "no containerd on ${hostname}; no Calico images to remove"
  exit 0
fi
for image in ${calicoImages(spec.version).join(" ")}; do
  ctr -n k8s.io images rm "$image" >/dev/null 2>&1 || true
done
rm -f ${IMPORTED_IMAGES_DIR}/${STAMP_PREFIX}*.sha256
echo "Calico ${plainVersion(spec)} images removed from ${hostname}"`,
    );
}
