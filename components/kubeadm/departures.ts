// Pure renderer of KubeadmCluster's step for nodes that left the stack config: drained, their etcd
// members removed, their Node objects deleted, all from a control plane that stays.
import { IN_ETCD, READ_ETCD_MEMBERS_FUNCTION } from "../etcd";
import { DRAIN_FUNCTION, KUBECTL_FUNCTION } from "../kubectl";
import { IS_ONE_OF_FUNCTION, script, shellQuote } from "../script";
import { NodeRole } from "./config";

/** How long a drain may take before the step fails, naming what holds it up. */
export const DRAIN_TIMEOUT_SECONDS = 600;

export interface DeparturesSpec {
    /** Every node in the config, e.g. [{ hostname: "home-server-1", role: "control-plane" }]. */
    nodes: { hostname: string; role: NodeRole }[];
    drainTimeoutSeconds?: number;
}

/**
 * On a control plane that stays (the config's first), whenever the nodes in the config change:
 * each Node in the cluster that the config no longer lists, and each etcd member that is not one of
 * its control planes, goes, in this order, each part idempotent (a rerun goes on where one stopped):
 * 1. refuse unless every etcd member that stays answers healthy (a member removed while another is
 *    down could cost etcd its quorum);
 * 2. drain, bounded (a node that is not Ready is not drained: its pods cannot stop, and they go with
 *    its Node object);
 * 3. its etcd member removed, one at a time;
 * 4. its Node object deleted.
 * The node itself is reset and powered off afterwards, by the delete of its own steps.
 */
export function renderDeparturesScript(spec: DeparturesSpec): string {
    const names = spec.nodes.map((node) => node.hostname);
    const controlPlanes = spec.nodes.filter((node) => node.role === "control-plane").map((node) => node.hostname);
    const drainSeconds = spec.drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS;
    return script(
        KUBECTL_FUNCTION,
        DRAIN_FUNCTION,
        IN_ETCD,
        READ_ETCD_MEMBERS_FUNCTION,
        `nodes=(${names.map(shellQuote).join(" ")})
control_planes=(${controlPlanes.map(shellQuote).join(" ")})
${IS_ONE_OF_FUNCTION}
departed=()
while read -r name; do
  if [ -n "$name" ] && ! is_one_of "$name" "\${nodes[@]}"; then departed+=("$name"); fi
done < <(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}')
read_etcd_members || { echo "etcd on $(hostname) does not answer; cannot tell which members stay" >&2; exit 1; }
stale=()
staying_urls=()
for i in "\${!member_ids[@]}"; do
  if is_one_of "\${member_names[i]}" "\${control_planes[@]}"; then staying_urls+=("\${member_client_urls[i]}"); else stale+=("\${member_ids[i]}:\${member_names[i]}"); fi
done
if [ \${#departed[@]} -eq 0 ] && [ \${#stale[@]} -eq 0 ]; then
  echo "every Node and etcd member is in the config"
  exit 0
fi
echo "leaving the cluster: \${departed[*]:-no Node} (Nodes), \${stale[*]:-no member} (etcd members)"`,
        `# 1. the etcd members that stay all answer, so removing one never costs the quorum
if [ \${#stale[@]} -gt 0 ]; then
  endpoints=$(IFS=,; echo "\${staying_urls[*]}")
  if ! health=$(etcdctl_ --endpoints="$endpoints" endpoint health 2>&1); then
    echo "refusing to remove etcd members while one that stays is unhealthy; nothing was changed:" >&2
    echo "$health" >&2
    exit 1
  fi
fi`,
        `# 2. drained, where the node still runs
for name in "\${departed[@]}"; do
  ready=$(node_ready "$name")
  if [ "$ready" = True ]; then
    drain_node "$name" ${drainSeconds} || exit 1
  else
    echo "$name is not Ready (\${ready:-unknown}): its pods cannot stop; not drained"
  fi
done`,
        `# 3. etcd members, one at a time
for entry in "\${stale[@]}"; do
  etcdctl_ member remove "\${entry%%:*}" >/dev/null
  echo "etcd member \${entry#*:} (\${entry%%:*}) removed"
done`,
        `# 4. the Node objects
for name in "\${departed[@]}"; do
  kc delete node "$name" --ignore-not-found >/dev/null
  echo "Node $name deleted"
done`,
    );
}
