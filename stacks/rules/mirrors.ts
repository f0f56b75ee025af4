// The release an offline mirror's directory name says it holds, checked against the version key.
import { plainVersion } from "../../components/version";
import { wellFormed } from "../partial";
import { ConfigProblem } from "./shared";

/**
 * The offline builds write one directory per release, named after it: kubernetes-v1.37.2
 * (offline/build-kubernetes.sh), calico-v3.31.0 (offline/build-calico.sh), rook-v1.17.8
 * (offline/build-rook.sh). When a mirror URL ends in such a name, the release it holds is known
 * without asking it (a preview has no network): the version key must be that release. A mirror
 * under another name says nothing.
 */
const MIRROR_RELEASE = /\/(kubernetes|calico|rook)-v?(\d+\.\d+\.\d+)\/*$/;
const PRODUCT_NAMES = { kubernetes: "Kubernetes", calico: "Calico", rook: "Rook" } as const;

export function mirrorRelease(
    product: keyof typeof PRODUCT_NAMES,
    mirrorKey: string,
    mirror: string | undefined,
    versionKey: string,
    version: () => string,
    script: string,
): ConfigProblem[] {
    const match = mirror === undefined ? null : MIRROR_RELEASE.exec(mirror);
    if (!mirror || !match) return [];
    const [, named, release] = match as unknown as [string, keyof typeof PRODUCT_NAMES, string];
    if (named !== product) {
        const wanted = plainVersion(wellFormed(version) ?? release);
        const example = mirror.replace(MIRROR_RELEASE, `/${product}-v${wanted}`);
        return [{ key: mirrorKey, value: mirror, message: `is a ${PRODUCT_NAMES[named]} mirror (${named}-v${release}); expected the ${product}-v<version> directory ${script} writes, like ${example}` }];
    }
    const wanted = version();
    if (plainVersion(wanted) === release) return [];
    return [{ key: versionKey, value: wanted, message: `is not the release ${mirrorKey} holds (${mirror}); expected ${release}, or a mirror built for ${plainVersion(wanted)}` }];
}
