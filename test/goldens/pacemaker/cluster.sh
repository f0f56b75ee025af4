#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

# the membership: each member step wrote corosync.conf with these members
members=(home-server-1 home-server-2 home-server-3)
member_entries=(101:home-server-1 102:home-server-2 103:home-server-3)
is_one_of() { local item=$1; shift; local other; for other in "$@"; do [ "$other" = "$item" ] && return 0; done; return 1; }
# Pacemaker's nodes as id:name, from the CIB's nodes section
cib_entries() {
  cibadmin --query --scope nodes 2>/dev/null | grep -o '<node [^>]*>' | while read -r entry; do
    printf '%s:%s\n' "$(sed -n 's/.* id="\([^"]*\)".*/\1/p' <<<"$entry")" "$(sed -n 's/.* uname="\([^"]*\)".*/\1/p' <<<"$entry")"
  done
}
vip_elsewhere() { ! crm_resource --resource kube-api-vip --locate 2>/dev/null | grep -E "is running on: $1$" >/dev/null; }
# a node leaving the membership goes to standby first, while the cluster still has its quorum, so
# the VIP moves off it once (if it held it) rather than stopping with it
departed=()
if crm_mon -1 >/dev/null 2>&1; then
  while IFS=: read -r _ name; do
    if [ -n "$name" ] && ! is_one_of "$name" "${members[@]}" && ! is_one_of "$name" "${departed[@]}"; then departed+=("$name"); fi
  done < <(cib_entries)
fi
for name in "${departed[@]}"; do
  retry 20 3 crm_attribute --node "$name" --name standby --update on
  retry 30 2 vip_elsewhere "$name" || { echo "kube-api-vip did not leave $name within 60 s" >&2; crm_mon -1 >&2 || true; exit 1; }
  echo "$name is leaving the cluster: on standby, the VIP is elsewhere"
done
# one reload applies the new membership on every member at once (a no-op where nothing changed)
retry 10 3 corosync-cfgtool -R >/dev/null
echo "corosync reloaded its configuration on every member"

# every member joined and the cluster quorate (bounded wait)
members_joined() {
  [ "$(corosync-cmapctl -b runtime.members 2>/dev/null | grep -c 'status (str) = joined')" -eq 3 ] &&
    corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null
}
retry 60 2 members_joined || { echo "corosync did not see all 3 members joined and quorate within 120 s" >&2; corosync-quorumtool -s >&2 || true; exit 1; }
retry 60 2 crm_mon -1 >/dev/null || { echo "pacemaker did not answer within 120 s" >&2; exit 1; }
echo "cluster home: 3 members joined, quorate"

# nodes Pacemaker still lists that are not members, or not under their node id now, are purged by id
while IFS=: read -r id name; do
  if [ -n "$id" ] && [ -n "$name" ] && ! is_one_of "$id:$name" "${member_entries[@]}"; then
    retry 10 3 crm_node --force --remove "$id" >/dev/null
    echo "removed node $name (id $id) from pacemaker"
  fi
done < <(cib_entries)

# cluster properties (retried: a new cluster's CIB refuses changes until its DC is elected)
retry 20 3 crm_attribute --type crm_config --name stonith-enabled --update false
retry 20 3 crm_attribute --type rsc_defaults --name resource-stickiness --update 60

# the VIP (the seed's IPaddr2 recipe) and its placement, created or brought up to date in place
retry 20 3 cibadmin --modify --allow-create --scope resources --xml-text '<primitive id="kube-api-vip" class="ocf" provider="heartbeat" type="IPaddr2"><instance_attributes id="kube-api-vip-instance_attributes"><nvpair id="kube-api-vip-instance_attributes-ip" name="ip" value="10.0.0.100"/><nvpair id="kube-api-vip-instance_attributes-cidr_netmask" name="cidr_netmask" value="24"/><nvpair id="kube-api-vip-instance_attributes-nic" name="nic" value="enp3s0.2"/></instance_attributes><meta_attributes id="kube-api-vip-meta_attributes"><nvpair id="kube-api-vip-meta_attributes-migration-threshold" name="migration-threshold" value="2"/><nvpair id="kube-api-vip-meta_attributes-failure-timeout" name="failure-timeout" value="60s"/></meta_attributes><operations><op id="kube-api-vip-monitor" name="monitor" interval="5s" timeout="20s"/><op id="kube-api-vip-start" name="start" interval="0s" timeout="20s"/><op id="kube-api-vip-stop" name="stop" interval="0s" timeout="20s"/></operations></primitive>'
retry 20 3 cibadmin --modify --allow-create --scope constraints --xml-text '<rsc_location id="kube-api-vip-prefers-first" rsc="kube-api-vip" node="home-server-1" score="30"/>'
retry 20 3 cibadmin --modify --allow-create --scope constraints --xml-text '<rsc_location id="kube-api-vip-on-healthy-api" rsc="kube-api-vip"><rule id="kube-api-vip-on-healthy-api-rule" score="1000"><expression id="kube-api-vip-on-healthy-api-expr" attribute="homelab-api-healthy" operation="eq" value="1"/></rule></rsc_location>'

# the VIP runs before we say it is up
vip_running() { crm_resource --resource kube-api-vip --locate 2>/dev/null | grep 'is running on' >/dev/null; }
retry 30 2 vip_running || { echo "kube-api-vip did not start within 60 s" >&2; crm_mon -1 >&2 || true; exit 1; }
crm_resource --resource kube-api-vip --locate
