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

in_etcd() { nsenter -t "$(pgrep -o -x etcd)" -m -- "$@"; }
etcdctl_() {
  in_etcd etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}

read_etcd_members() {
  local list id name client_url
  list=$(etcdctl_ member list) || return 1
  member_ids=() member_names=() member_client_urls=()
  # "8e9e05c52164694d, started, home-server-1, https://10.0.0.101:2380, https://10.0.0.101:2379, false"
  while IFS=', ' read -r id _ name _ client_url _; do
    [ -n "$id" ] || continue
    member_ids+=("$id") member_names+=("$name") member_client_urls+=("$client_url")
  done <<<"$list"
}

nodes=(lab-1 lab-2 lab-3 lab-4)
control_planes=(lab-1 lab-2 lab-3)
is_one_of() { local item=$1; shift; local other; for other in "$@"; do [ "$other" = "$item" ] && return 0; done; return 1; }
departed=()
while read -r name; do
  if [ -n "$name" ] && ! is_one_of "$name" "${nodes[@]}"; then departed+=("$name"); fi
done < <(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
read_etcd_members || { echo "etcd on $(hostname) does not answer; cannot tell which members stay" >&2; exit 1; }
stale=()
staying_urls=()
for i in "${!member_ids[@]}"; do
  if is_one_of "${member_names[i]}" "${control_planes[@]}"; then staying_urls+=("${member_client_urls[i]}"); else stale+=("${member_ids[i]}:${member_names[i]}"); fi
done
if [ ${#departed[@]} -eq 0 ] && [ ${#stale[@]} -eq 0 ]; then
  echo "every Node and etcd member is in the config"
  exit 0
fi
echo "leaving the cluster: ${departed[*]:-no Node} (Nodes), ${stale[*]:-no member} (etcd members)"

# 1. the etcd members that stay all answer, so removing one never costs the quorum
if [ ${#stale[@]} -gt 0 ]; then
  endpoints=$(IFS=,; echo "${staying_urls[*]}")
  if ! health=$(etcdctl_ --endpoints="$endpoints" endpoint health 2>&1); then
    echo "refusing to remove etcd members while one that stays is unhealthy; nothing was changed:" >&2
    echo "$health" >&2
    exit 1
  fi
fi

# 2. drained, where the node still runs
for name in "${departed[@]}"; do
  ready=$(node_ready "$name")
  if [ "$ready" = True ]; then
    drain_node "$name" 600 || exit 1
  else
    echo "$name is not Ready (${ready:-unknown}): its pods cannot stop; not drained"
  fi
done

# 3. etcd members, one at a time
for entry in "${stale[@]}"; do
  etcdctl_ member remove "${entry%%:*}" >/dev/null
  echo "etcd member ${entry#*:} (${entry%%:*}) removed"
done

# 4. the Node objects
for name in "${departed[@]}"; do
  kc delete node "$name" --ignore-not-found >/dev/null
  echo "Node $name deleted"
done
