// Rules that relate several config values to each other. Each returns problems
// rather than throwing, so that a user sees every mistake in one run; they also
// run when other values are malformed, and stay silent about what they cannot
// judge (see partial.ts for how).
import { guarded, plain, wellFormed } from "../partial";
import { ParsedConfig } from "../schema";
import { restoreRules } from "./backups";
import { calicoRules } from "./calico";
import { controlPlanes, gracefulShutdown, imageGC, kubernetesMirror, kubernetesNetworks } from "./kubernetes";
import { links, routes, vlanInterfaceName } from "./network";
import { corosyncNodeIds, internalAddresses, nodeDuplicates, vipAddress, wakeOnLanBroadcast } from "./nodes";
import { ConfigProblem } from "./shared";
import { storageRules } from "./storage";

export { cidrsOverlap, ConfigProblem } from "./shared";

type Rule = (config: ParsedConfig) => ConfigProblem[];

/** In the order their problems are listed. */
const RULES: Rule[] = [
    nodeDuplicates, internalAddresses, corosyncNodeIds, vipAddress, wakeOnLanBroadcast,
    links, vlanInterfaceName, routes,
    kubernetesNetworks, controlPlanes, imageGC, gracefulShutdown, kubernetesMirror,
    storageRules, calicoRules, restoreRules,
];

/**
 * Runs every rule on a config that may hold MALFORMED values (partial.ts): a rule that reads one is
 * silent, and its problems so far are dropped with it. Values in problems are plain copies.
 */
export function crossFieldProblems(config: ParsedConfig): ConfigProblem[] {
    const view = guarded(config);
    return RULES.flatMap((rule) => wellFormed(() => rule(view).map((problem) => ({ ...problem, value: plain(problem.value) }))) ?? []);
}
