#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# node_ready NAME: its Ready condition (True, False, Unknown), or nothing when the API does not answer
node_ready() { kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true; }

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

host=lab-3
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
echo "Node $host was registered by another machine than the one now at its address (a replaced machine): its Node and etcd member go before the new machine joins"

# 1. the old machine no longer runs as $host
ready=$(node_ready "$host")
if [ "$ready" = True ]; then
  echo "refusing: Node $host is Ready, so the machine that registered it still runs, while another machine answers at $host's address. Power the old one off (its Node turns NotReady within a minute) and run pulumi up again; nothing was changed" >&2
  exit 1
fi

# 2. the old etcd member, from a quorum that stays whole
read_etcd_members || { echo "etcd on $(hostname) does not answer; $host's old member cannot be removed" >&2; exit 1; }
stale_id="" stale_url="" others=()
for i in "${!member_ids[@]}"; do
  if [ "${member_names[i]}" = "$host" ]; then stale_id=${member_ids[i]}; stale_url=${member_client_urls[i]}; else others+=("${member_client_urls[i]}"); fi
done
if [ -z "$stale_id" ]; then
  echo "etcd has no member $host"
else
  if etcdctl_ --endpoints="$stale_url" --command-timeout=5s endpoint health >/dev/null 2>&1; then
    echo "refusing: $host's etcd member ($stale_id) answers at $stale_url; a member is never removed while it runs. Nothing was changed" >&2
    exit 1
  fi
  endpoints=$(IFS=,; echo "${others[*]}")
  if ! health=$(etcdctl_ --endpoints="$endpoints" endpoint health 2>&1); then
    echo "refusing to remove $host's etcd member while another member is unhealthy; nothing was changed:" >&2
    echo "$health" >&2
    exit 1
  fi
  etcdctl_ member remove "$stale_id" >/dev/null
  echo "etcd member $host ($stale_id) of the old machine removed"
fi

# 3. the old Node
kc delete node "$host" --ignore-not-found >/dev/null
echo "Node $host of the old machine deleted: the new machine registers its own when it joins"
