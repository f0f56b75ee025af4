#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

# /etc/hosts: one managed block with every node
hosts_block=$(cat <<'HOMELAB_HOSTS'
# BEGIN homelab nodes
10.0.0.101 home-server-1
10.0.0.102 home-server-2
10.0.0.103 home-server-3
# END homelab nodes
HOMELAB_HOSTS
)
hosts_new=$(mktemp)
awk '/^# BEGIN homelab nodes$/{skip=1} !skip{print} /^# END homelab nodes$/{skip=0}' /etc/hosts > "$hosts_new"
printf '%s\n' "$hosts_block" >> "$hosts_new"
if ! cmp -s "$hosts_new" /etc/hosts; then
  cat "$hosts_new" > /etc/hosts
  echo "/etc/hosts updated"
fi
rm -f "$hosts_new"
