// The files of a bundle as the stack config names them: URLs the node downloads, or local files
// whose sha256 is read here (the one part of the manifests that reads this machine's disk).
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { describeArgProblems } from "../problems";
import { ManifestFile, manifestSourceProblems, ManifestSource } from "./render";

/** Files named `names` under `source`: a local directory or file, a mirror URL, or the upstream base URL. */
export function bundleFiles(source: ManifestSource, upstream: string, names: string[], sourceIsFile: boolean): ManifestFile[] {
    const problems = manifestSourceProblems(source);
    if (problems.length > 0) throw new Error(describeArgProblems("manifests", problems));
    if (source.path) {
        const resolved = path.resolve(source.path);
        return names.map((name) => localManifest(name, sourceIsFile ? resolved : path.join(resolved, name)));
    }
    const base = source.url ?? upstream;
    if (sourceIsFile) return names.map((name) => ({ name, url: base }));
    const dir = base.endsWith("/") ? base : `${base}/`;
    return names.map((name) => ({ name, url: `${dir}${name}` }));
}

function localManifest(name: string, localPath: string): ManifestFile {
    if (!fs.existsSync(localPath)) throw new Error(`manifests.path: ${localPath} does not exist; expected the ${name} of the pinned release`);
    return { name, localPath, sha256: createHash("sha256").update(fs.readFileSync(localPath)).digest("hex") };
}

