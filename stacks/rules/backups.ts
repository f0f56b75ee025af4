// Rules on backups: a restore needs a cluster that runs.
import { ParsedConfig } from "../schema";
import { ConfigProblem } from "./shared";

export function restoreRules(config: ParsedConfig): ConfigProblem[] {
    const restoreFrom = config.backups.restoreFrom;
    if (restoreFrom === undefined) return [];
    const problems: ConfigProblem[] = [];
    if (!config.kubernetes.enabled) problems.push({ key: "backups.restoreFrom", value: restoreFrom, message: "names a snapshot to restore, but kubernetes.enabled is false: there is no etcd to restore it into; remove the key or enable Kubernetes" });
    if (config.power === "off") problems.push({ key: "backups.restoreFrom", value: restoreFrom, message: "names a snapshot to restore while power is off; a restore needs every control plane on: set power on, or remove the key" });
    return problems;
}
