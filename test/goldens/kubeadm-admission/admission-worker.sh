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

host=lab-4
machine=ff25d2389ab7917a77cc0c3546331401054d53cb7b2edeedb7b4e7742bb5286d
if [ "$machine" = unknown ]; then
  echo "$host has no /etc/machine-id: a replaced machine cannot be told from the old one; it joins as it is"
  exit 0
fi
# --ignore-not-found: no Node prints nothing; an API that does not answer fails
if ! registered=$(kc get node "$host" --ignore-not-found -o jsonpath='{.metadata.name} {.status.nodeInfo.machineID}'); then
  echo "the Kubernetes API does not answer on $(hostname); cannot tell whether $host was registered by another machine" >&2
  exit 1
fi
if [ -z "$registered" ]; then
  echo "no Node $host yet: nothing of an earlier machine to clean up"
  exit 0
fi
registered_id=${registered#* }
if [ -z "$registered_id" ]; then
  echo "Node $host records no machine id: it is taken to be this machine's"
  exit 0
fi
if [ "$(printf '%s' "$registered_id" | sha256sum | cut -d' ' -f1)" = "$machine" ]; then
  echo "Node $host was registered by the machine at its address: nothing to clean up"
  exit 0
fi
echo "Node $host was registered by another machine than the one now at its address (a replaced machine): its Node goes before the new machine joins"

# 1. the old machine no longer runs as $host
ready=$(node_ready "$host")
if [ "$ready" = True ]; then
  echo "refusing: Node $host is Ready, so the machine that registered it still runs, while another machine answers at $host's address. Power the old one off (its Node turns NotReady within a minute) and run pulumi up again; nothing was changed" >&2
  exit 1
fi

# 2. the old Node
kc delete node "$host" --ignore-not-found >/dev/null
echo "Node $host of the old machine deleted: the new machine registers its own when it joins"
