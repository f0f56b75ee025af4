// Calico's image archives from the mirror, imported into containerd on every node before
// calico-node runs there, with the same checks and stamps as the Kubernetes images (components/airgap.ts).
import { MirroredImages, renderMirroredImagesImportScript, renderMirroredImagesRemoveScript } from "../airgap";
import { calicoImages } from "./manifest";
import { plainVersion } from "../version";

/** Stamp files of Calico's archives carry this prefix, apart from the Kubernetes mirror's (images/node.tar is not kube's). */
export const STAMP_PREFIX = "calico-";

function mirroredImages(spec: { version: string; mirror: string }, hostname: string): MirroredImages {
    const version = plainVersion(spec.version);
    return {
        mirror: spec.mirror, hostname, owner: "Calico", version, versionKey: "calico.version",
        consumer: "calico-node", images: calicoImages(version), stampPrefix: STAMP_PREFIX,
    };
}

/** On one node: imports `<mirror>/images/*.tar` (each checked against SHA256SUMS, once per checksum) and checks the pinned images are there. */
export function renderImageImportScript(spec: { version: string; mirror: string }, hostname: string): string {
    return renderMirroredImagesImportScript(mirroredImages(spec, hostname));
}

/** On one node, on delete: removes Calico's images and their stamps, so a later import starts clean. */
export function renderImageRemoveScript(spec: { version: string }, hostname: string): string {
    return renderMirroredImagesRemoveScript(mirroredImages({ ...spec, mirror: "" }, hostname));
}
