#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

ceph_() { kc -n rook-ceph exec deploy/rook-ceph-operator -- ceph --conf=/var/lib/rook/rook-ceph/rook-ceph.config --keyring=/var/lib/rook/rook-ceph/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }

# machines at the OSD hosts' addresses: lab-1 1a1a1a1a1a1a, lab-2 2b2b2b2b2b2b, lab-3 3c3c3c3c3c3c
osd_hosts=(lab-1 lab-2 lab-3)
is_one_of() { local item=$1; shift; local other; for other in "$@"; do [ "$other" = "$item" ] && return 0; done; return 1; }
osd_up() { grep -E "^osd\.$1 up " <<<"$dump" >/dev/null; }
fsid=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.ceph.fsid}' 2>/dev/null || true)
if [ -z "$fsid" ]; then
  echo "Ceph has not been up yet: no machine can have left OSDs behind"
  exit 0
fi
answered=no
for _ in $(seq 30); do
  if crush_hosts=$(ceph_ osd crush ls default); then answered=yes; break; fi
  sleep 10
done
[ "$answered" = yes ] || { echo "Ceph (fsid $fsid) does not answer ($((30 * 10)) s): cannot tell whether a replaced machine left OSDs behind; nothing was changed" >&2; exit 1; }
dump=$(ceph_ osd dump) || { echo "Ceph's OSD map cannot be read; nothing was changed" >&2; exit 1; }
ids=()
for host in $crush_hosts; do
  is_one_of "$host" "${osd_hosts[@]}" || continue
  registered=$(kc get node "$host" --ignore-not-found -o jsonpath='{.metadata.creationTimestamp}') || { echo "the Kubernetes API does not answer; nothing was changed" >&2; exit 1; }
  [ -n "$registered" ] || continue
  for id in $(ceph_ osd ls-tree "$host" 2>/dev/null); do
    osd_up "$id" && continue
    made=$(kc -n rook-ceph get deployment "rook-ceph-osd-$id" --ignore-not-found -o jsonpath='{.metadata.creationTimestamp}')
    # RFC 3339 times in UTC compare as text
    if [ -n "$made" ] && [[ "$made" < "$registered" ]]; then
      echo "osd.$id on $host is down, made $made, before $host's Node ($registered): the old machine's"
      ids+=("$id")
    fi
  done
done
if [ ${#ids[@]} -eq 0 ]; then
  echo "no OSD left behind by a replaced machine"
  exit 0
fi

# 1. the operator looks at the new machines' disks when it starts; the dead OSDs' deployments go first,
# as the operator would wait out their rollout (10 minutes on the lab) before it made the new OSDs; an OSD
# whose disk is found in the new machine gets its deployment back from the operator
for id in "${ids[@]}"; do
  kc -n rook-ceph delete deployment "rook-ceph-osd-$id" --ignore-not-found >/dev/null
done
kc -n rook-ceph delete pod -l app=rook-ceph-operator --wait=false >/dev/null
echo "Rook's operator restarted, to prepare OSDs on the new machines' disks"

# 2. the new machines' OSDs are up to take the replicas
# one look at the OSD map per round, for every host
up_osds_of() { local id; for id in $(ceph_ osd ls-tree "$1" 2>/dev/null); do osd_up "$id" && echo "$id"; done; }
started=$(date +%s)
while true; do
  missing=()
  dump=$(ceph_ osd dump || true)
  for host in "${osd_hosts[@]}"; do [ -n "$(up_osds_of "$host")" ] || missing+=("$host"); done
  [ ${#missing[@]} -eq 0 ] && break
  if [ $(($(date +%s) - started)) -ge 300 ]; then
    echo "no OSD is up on ${missing[*]} after 300 s; the old machines' OSDs stay in Ceph (down) until every OSD host in the config can take its replicas. Nothing was changed." >&2
    exit 1
  fi
  sleep 10
done
# an old OSD up again (its disk moved into the new machine) stays
down_ids=()
for id in "${ids[@]}"; do
  if osd_up "$id"; then echo "osd.$id is up again: kept"; else down_ids+=("$id"); fi
done
ids=("${down_ids[@]}")

# out: Ceph moves their placement groups to the other OSDs
for id in "${ids[@]}"; do
  ceph_ osd out "$id" >/dev/null
  echo "osd.$id marked out"
done
osd_list=$(printf 'osd.%s, ' "${ids[@]}")
osd_list=${osd_list%, }

# every placement group active+clean, and Ceph agrees these OSDs hold nothing it still needs (bounded)
all_clean() {
  local stat
  stat=$(ceph_ pg stat) || return 1
  # "97 pgs: 97 active+clean; ..." -> every pg counted as active+clean
  [ "$(sed -n 's/^\([0-9]*\) pgs: \([0-9]*\) active+clean;.*/\1 \2/p' <<<"$stat" | awk '$1 == $2 { print "yes" }')" = yes ]
}
if [ ${#ids[@]} -gt 0 ]; then
  started=$(date +%s)
  until all_clean && ceph_ osd safe-to-destroy "${ids[@]}" >/dev/null; do
    if [ $(($(date +%s) - started)) -ge 300 ]; then
      echo "after 300 s Ceph still needs $osd_list (placement groups: $(ceph_ pg stat || echo unknown)); they stay out and keep their data; the next up waits again" >&2
      exit 1
    fi
    sleep 10
  done
  echo "every placement group is active+clean without $osd_list"
fi

# each OSD stopped, purged from Ceph's maps, its deployment gone
for id in "${ids[@]}"; do
  kc -n rook-ceph scale deployment "rook-ceph-osd-$id" --replicas=0 >/dev/null 2>&1 || true
  started=$(date +%s)
  until dump=$(ceph_ osd dump) && ! osd_up "$id"; do
    if [ $(($(date +%s) - started)) -ge 300 ]; then echo "osd.$id is still up 300 s after its deployment was scaled to 0; not purged" >&2; exit 1; fi
    sleep 10
  done
  ceph_ osd purge "$id" --yes-i-really-mean-it >/dev/null
  kc -n rook-ceph delete deployment "rook-ceph-osd-$id" --ignore-not-found >/dev/null
  echo "osd.$id purged"
done
