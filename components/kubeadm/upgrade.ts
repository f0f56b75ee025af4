// Pure: whether a kubernetes.version can be had from the versions the control planes run now
// (Kubernetes' version skew policy: one minor at a time, never back).
import { ArgProblem } from "../problems";
import { plainVersion } from "../version";

type Triple = [number, number, number];

function triple(version: string): Triple {
    const [major, minor, patch] = plainVersion(version).split(".").map((part) => Number.parseInt(part, 10));
    return [major, minor, patch];
}

function compare(a: Triple, b: Triple): number {
    return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * What keeps `wanted` from being set on a cluster whose API servers run `running` (per control
 * plane, e.g. { "home-server-1": "v1.37.2" }; none seen: nothing to compare). A downgrade and a jump
 * of more than one minor above the lowest version running are refused with what would be allowed;
 * anything else (the running version, a later patch, the next minor, or the rest of an upgrade
 * that stopped half-way) is what KubeadmCluster's rolling upgrade does, one node at a time.
 */
export function versionChangeProblems(running: Record<string, string>, wanted: string): ArgProblem[] {
    const seen = Object.entries(running).map(([host, version]) => ({ host, version: plainVersion(version), at: triple(version) }));
    if (seen.length === 0 || !/^\d+\.\d+\.\d+$/.test(plainVersion(wanted))) return [];
    const want = triple(wanted);
    const sorted = [...seen].sort((a, b) => compare(a.at, b.at));
    const [lowest, highest] = [sorted[0], sorted[sorted.length - 1]];
    const on = (entry: { host: string; version: string }) => `${entry.version} (on ${seen.filter((other) => other.version === entry.version).map((other) => other.host).join(", ")})`;
    const nextMinor = `${lowest.at[0]}.${lowest.at[1] + 1}`;
    if (compare(want, highest.at) < 0) {
        return [{ arg: "version", value: wanted, message: `is older than the running ${on(highest)}; Kubernetes cannot be downgraded: expected ${highest.version}, a later patch of ${highest.at[0]}.${highest.at[1]}, or ${nextMinor}.x` }];
    }
    if (want[0] !== lowest.at[0] || want[1] > lowest.at[1] + 1) {
        return [{ arg: "version", value: wanted, message: `is more than one minor above the running ${on(lowest)}; Kubernetes upgrades one minor at a time: expected a patch of ${lowest.at[0]}.${lowest.at[1]} or ${nextMinor}.x first` }];
    }
    return [];
}
