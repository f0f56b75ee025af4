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

/** How often a drain looks whether its node still answers (its Ready condition). */
export const DRAIN_POLL_SECONDS = 3;
/** How many times a drain that failed on a lost API asks whether its node is still Ready (about 90 s): the node controller's grace period is 40-50 s. */
export const DRAIN_LOST_CHECKS = 30;

/** `node_ready NAME`, after KUBECTL_FUNCTION: the Node's Ready condition. */
export const NODE_READY_FUNCTION = `# node_ready NAME: its Ready condition (True, False, Unknown), or nothing when the API does not answer
node_ready() { kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true; }`;

/**
 * `drain_node NAME SECONDS [uncordon]`, after KUBECTL_FUNCTION: cordons the node and evicts its pods
 * (not the DaemonSets'; emptyDir data goes with its pod), bounded. When the time is up it says which
 * pods are still there and which PodDisruptionBudgets allow no eviction now (what holds a drain up,
 * most often; a pod no controller owns is refused by kubectl at once, named) and fails, leaving the
 * node cordoned (a node on its way out), or with `uncordon` schedulable again (a node that stays,
 * e.g. for an upgrade). A node that stops answering during its drain (powered off: its Ready
 * condition False or Unknown twice in a row) ends it at once, said by name: its pods can never stop,
 * and kubectl would wait out the whole bound for them. Defines `node_ready NAME` too.
 */
export const DRAIN_FUNCTION = `${NODE_READY_FUNCTION}
drain_node() {
  local node=$1 seconds=$2 after_failure=\${3:-cordoned} output drain lost="" misses=0 ready
  kc cordon "$node" >/dev/null
  output=$(mktemp)
  # kubectl itself in the background (not kc, a function: its subshell would outlive a kill)
  kubectl --kubeconfig ${ADMIN_KUBECONFIG} drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="\${seconds}s" >"$output" 2>&1 &
  drain=$!
  while kill -0 "$drain" 2>/dev/null; do
    ready=$(node_ready "$node")
    case "$ready" in
      False|Unknown) misses=$((misses + 1)) ;;
      *) misses=0 ;;
    esac
    if [ "$misses" -ge 2 ]; then
      lost=$ready
      kill "$drain" 2>/dev/null || true
      break
    fi
    sleep ${DRAIN_POLL_SECONDS}
  done
  if wait "$drain" && [ -z "$lost" ]; then
    rm -f "$output"
    echo "$node drained"
    return 0
  fi
  # the API gone in the middle (the lost node held the VIP): the node is seen NotReady only once the
  # API is back and its grace period is over, so its Ready condition is asked again for a while
  if [ -z "$lost" ] && grep -Eiq 'connection refused|unable to connect|i/o timeout|EOF|currently unable to handle' "$output"; then
    for _ in $(seq ${DRAIN_LOST_CHECKS}); do
      ready=$(node_ready "$node")
      case "$ready" in False|Unknown) lost=$ready; break ;; esac
      sleep ${DRAIN_POLL_SECONDS}
    done
  fi
  if [ "$after_failure" = uncordon ]; then
    kc uncordon "$node" >/dev/null || true
  fi
  if [ -n "$lost" ]; then
    echo "$node stopped answering during its drain (Ready: $lost): its pods cannot stop while it is off; power it on, or take it out of the config, and run pulumi up again" >&2
  elif [ "$after_failure" = uncordon ]; then
    echo "draining $node did not finish within $seconds s; it is schedulable again" >&2
  else
    echo "draining $node did not finish within $seconds s; it stays cordoned" >&2
  fi
  grep -E 'disruption budget|error when evicting|cannot delete' "$output" | sort -u | tail -n 5 >&2 || true
  rm -f "$output"
  echo "pods still on $node (DaemonSets' aside): $(kc get pods -A --field-selector "spec.nodeName=$node" --no-headers \\
    -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind 2>/dev/null |
    awk '$3 != "DaemonSet" { printf "%s/%s ", $1, $2 }')" >&2
  echo "PodDisruptionBudgets that allow no eviction now: $(kc get pdb -A -o jsonpath='{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}/{.metadata.name} {end}' 2>/dev/null)" >&2
  return 1
}`;
