// Rules on Rook Ceph storage.
import { ManifestSource } from "../../components/manifests/render";
import { rookSourceProblems, rookSpecProblems, RookSpec } from "../../components/rook/render";
import { each, plain, wellFormed } from "../partial";
import { ParsedConfig } from "../schema";
import { mirrorRelease } from "./mirrors";
import { ConfigProblem, underKeys } from "./shared";

export function storageRules(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const storage = config.storage;
    if (!storage.enabled) return [];
    if (wellFormed(() => config.kubernetes.enabled) === false) {
        problems.push({ key: "storage.enabled", value: true, message: "needs kubernetes.enabled=true; Rook Ceph runs on Kubernetes" });
    }
    problems.push(...(wellFormed(() => underKeys("storage.", rookSpecProblems({ poolSize: storage.poolSize, nodes: plain(config.nodes) as RookSpec["nodes"] }))) ?? []));
    problems.push(...(wellFormed(() => underKeys("storage.", rookSourceProblems({ mirror: storage.mirror, manifests: plain(storage.manifests) as ManifestSource }))) ?? []));
    each(config.nodes, (node, index) => {
        const seen = new Map<string, number>();
        each(node.osdDevices, (device, deviceIndex) => {
            const first = seen.get(device);
            if (first === undefined) seen.set(device, deviceIndex);
            else problems.push({ key: `nodes[${index}].osdDevices[${deviceIndex}]`, value: device, message: `is already nodes[${index}].osdDevices[${first}]; list each disk once` });
        });
    });
    if (wellFormed(() => storage.allowLoopDevices) === false) {
        each(config.nodes, (node, index) => each(node.osdDevices, (device, deviceIndex) => {
            if (/^\/dev\/loop\d+$/.test(device)) {
                problems.push({ key: `nodes[${index}].osdDevices[${deviceIndex}]`, value: device, message: "is a loop device, which Rook refuses unless storage.allowLoopDevices is true (test clusters only); expected a whole disk such as /dev/sdb" });
            }
        }));
    }
    // tainted control planes run no pods, so no OSD either
    if (wellFormed(() => config.kubernetes.enabled && !config.kubernetes.scheduleOnControlPlanes)) {
        each(config.nodes, (node, index) => {
            if (node.role === "control-plane" && node.osdDevices.length > 0) {
                problems.push({ key: `nodes[${index}].osdDevices`, value: plain(node.osdDevices), message: "are on a control plane, which runs no pods with kubernetes.scheduleOnControlPlanes false, so Rook would start no OSD there; expected OSD disks on workers, or scheduleOnControlPlanes true" });
            }
        });
    }
    wellFormed(() => {
        if (storage.blockStorageClass === storage.filesystemStorageClass) {
            problems.push({ key: "storage.filesystemStorageClass", value: storage.filesystemStorageClass, message: "is storage.blockStorageClass too; each storage class needs its own name, like ceph-filesystem" });
        }
    });
    wellFormed(() => {
        const cephConfig = storage.cephConfig;
        // section by section (Object.keys reads no value): a malformed section leaves the others checked
        for (const section of Object.keys(cephConfig)) {
            wellFormed(() => {
                const options = cephConfig[section];
                for (const option of Object.keys(options)) {
                    // a mgr reads the global, mgr and mgr.<name> sections only
                    if (option.startsWith("mgr/") && !/^(global|mgr(\..+)?)$/.test(section)) {
                        wellFormed(() => problems.push({ key: `storage.cephConfig.${section}.${option}`, value: options[option], message: `is a mgr module's option in section ${section}, which no mgr reads; expected it under mgr` }));
                    }
                }
            });
        }
    });
    wellFormed(() => {
        const probes = storage.daemonProbes;
        if (probes && probes.timeoutSeconds > probes.periodSeconds) {
            problems.push({ key: "storage.daemonProbes.timeoutSeconds", value: probes.timeoutSeconds, message: `is longer than storage.daemonProbes.periodSeconds (${probes.periodSeconds}): a probe would still run when the next is due; expected at most ${probes.periodSeconds} (were the two swapped?)` });
        }
    });
    problems.push(...(wellFormed(() => mirrorRelease("rook", "storage.mirror", storage.mirror, "storage.rookVersion", () => storage.rookVersion, "offline/build-rook.sh")) ?? []));
    return problems;
}
