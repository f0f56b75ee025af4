// How scripts on the admin node talk to the cluster: kubectl with kubeadm's admin kubeconfig.
// Pure (no SDK), like ./script.

export const ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf";

/** `kc ARGS...`: kubectl as the cluster's admin. */
export const KUBECTL_FUNCTION = `kc() { kubectl --kubeconfig ${ADMIN_KUBECONFIG} "$@"; }`;

/** How often a delete step asks the API before it takes the cluster as gone. */
export const READYZ_ATTEMPTS = 6;

/**
 * For delete steps, after KUBECTL_FUNCTION: once the cluster is gone (or never answered) there is
 * nothing left to do, and a destroy must not fail on it. `nothingToDo` ends the message, e.g.
 * "nothing to delete for Calico".
 */
export function exitWhenClusterGone(nothingToDo: string): string {
    return `# nothing to do when the cluster is already gone
if ! command -v kubectl >/dev/null 2>&1 || [ ! -f ${ADMIN_KUBECONFIG} ]; then
  echo "no cluster on this node; ${nothingToDo}"
  exit 0
fi
# one missed answer is not a cluster gone: under load, or while the VIP moves, the API can miss one
# (a destroy in the lab skipped arming Rook's disk wipe on a single miss)
answered=no
for attempt in ${"$"}(seq ${READYZ_ATTEMPTS}); do
  if kc --request-timeout=10s get --raw /readyz >/dev/null 2>&1; then answered=yes; break; fi
  [ "$attempt" -lt ${READYZ_ATTEMPTS} ] && sleep 10
done
if [ "$answered" = no ]; then
  echo "the cluster does not answer (${READYZ_ATTEMPTS} tries, 10 s apart); ${nothingToDo}"
  exit 0
fi`;
}

/**
 * `drain_node NAME SECONDS [uncordon]`, after KUBECTL_FUNCTION: cordons the node and evicts its pods
 * (not the DaemonSets'; emptyDir data goes with its pod), bounded. When the time is up it says which
 * pods are still there and which PodDisruptionBudgets allow no eviction now (what holds a drain up,
 * most often; a pod no controller owns is refused by kubectl at once, named) and fails, leaving the node cordoned (a node on its way out), or with `uncordon`
 * schedulable again (a node that stays, e.g. for an upgrade).
 */
export const DRAIN_FUNCTION = `drain_node() {
  local node=$1 seconds=$2 after_failure=\${3:-cordoned} output
  kc cordon "$node" >/dev/null
  if output=$(kc drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="\${seconds}s" 2>&1); then
    echo "$node drained"
    return 0
  fi
  if [ "$after_failure" = uncordon ]; then
    kc uncordon "$node" >/dev/null || true
    echo "draining $node did not finish within $seconds s; it is schedulable again" >&2
  else
    echo "draining $node did not finish within $seconds s; it stays cordoned" >&2
  fi
  grep -E 'disruption budget|error when evicting|cannot delete' <<<"$output" | sort -u | tail -n 5 >&2 || true
  echo "pods still on $node (DaemonSets' aside): $(kc get pods -A --field-selector "spec.nodeName=$node" --no-headers \\
    -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind 2>/dev/null |
    awk '$3 != "DaemonSet" { printf "%s/%s ", $1, $2 }')" >&2
  echo "PodDisruptionBudgets that allow no eviction now: $(kc get pdb -A -o jsonpath='{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}/{.metadata.name} {end}' 2>/dev/null)" >&2
  return 1
}`;
