#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# node_ready NAME: its Ready condition (True, False, Unknown), or nothing when the API does not answer
node_ready() { kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true; }
drain_node() {
  local node=$1 seconds=$2 after_failure=${3:-cordoned} output drain lost="" misses=0 ready
  kc cordon "$node" >/dev/null
  output=$(mktemp)
  # kubectl itself in the background (not kc, a function: its subshell would outlive a kill)
  kubectl --kubeconfig /etc/kubernetes/admin.conf drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="${seconds}s" >"$output" 2>&1 &
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
    sleep 3
  done
  if wait "$drain" && [ -z "$lost" ]; then
    rm -f "$output"
    echo "$node drained"
    return 0
  fi
  # the API gone in the middle (the lost node held the VIP): the node is seen NotReady only once the
  # API is back and its grace period is over, so its Ready condition is asked again for a while
  if [ -z "$lost" ] && grep -Eiq 'connection refused|unable to connect|i/o timeout|EOF|currently unable to handle' "$output"; then
    for _ in $(seq 30); do
      ready=$(node_ready "$node")
      case "$ready" in False|Unknown) lost=$ready; break ;; esac
      sleep 3
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
  echo "pods still on $node (DaemonSets' aside): $(kc get pods -A --field-selector "spec.nodeName=$node" --no-headers \
    -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind 2>/dev/null |
    awk '$3 != "DaemonSet" { printf "%s/%s ", $1, $2 }')" >&2
  echo "PodDisruptionBudgets that allow no eviction now: $(kc get pdb -A -o jsonpath='{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}/{.metadata.name} {end}' 2>/dev/null)" >&2
  return 1
}

gate=$(mktemp)
trap 'rm -f "$gate"' EXIT
cat > "$gate" <<'HOMELAB_GATE'
#!/usr/bin/env bash
echo gate >> /run/gate/calls
[ -f /run/gate/ceph-ok ] || { echo "HEALTH_WARN 1 osds down" >&2; exit 1; }
echo HEALTH_OK
HOMELAB_GATE
gates() {
  local not_ready
  not_ready=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$2 != "True" { printf "%s ", $1 }')
  if [ -n "$not_ready" ]; then
    echo "not Ready $1: $not_ready; the upgrade goes on once every node is Ready" >&2
    return 1
  fi
  if ! bash "$gate"; then
    echo "Ceph is not healthy $1: the upgrade stops here, and the next up goes on from this node" >&2
    return 1
  fi
}

node=lab-2
kubelet_version=$(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
upgrading=$(kc get node "$node" -o jsonpath='{.metadata.annotations.homelab\.dev/upgrading-to}')

want=v1.38.0
if [ "$kubelet_version" = "$want" ]; then
  if [ -n "$upgrading" ]; then echo "$node runs Kubernetes $want already: its release step finishes its upgrade"; else echo "$node runs Kubernetes $want: nothing to upgrade"; fi
  exit 0
fi
if [ -n "$upgrading" ] && [ "${upgrading%% *}" != "$want" ]; then
  echo "$node is half-way through an upgrade to ${upgrading%% *}, not $want: set kubernetes.version to ${upgrading%% *} and run up again to finish that first" >&2
  exit 1
fi
if [ -z "$upgrading" ]; then
  # nothing is touched unless the cluster is healthy; a run that began this node already passed here
  gates "before $node is drained" || exit 1
  upgrading=$want
  if [ "$(kc get node "$node" -o jsonpath='{.spec.unschedulable}')" = true ]; then upgrading="$want cordoned-before"; fi
  kc annotate node "$node" --overwrite "homelab.dev/upgrading-to=$upgrading" >/dev/null
  echo "upgrading $node from $kubelet_version to $want"
else
  echo "$node's upgrade to $want was begun by an earlier run: going on from there"
fi

# a node that lost power in its drain last time may still be coming back: its drain waits for it, bounded
waited=0
until [ "$(node_ready "$node")" = True ]; do
  if [ "$waited" -ge 300 ]; then
    echo "$node is not Ready after 300 s, so it cannot be drained: power it on (or take it out of the config) and run pulumi up again" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
drain_node "$node" 600 uncordon || exit 1
