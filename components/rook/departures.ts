// Pure renderer of RookCeph's step for OSD hosts that left the stack config: their OSDs are
// taken out of Ceph only once the data they held has other homes, and only while the hosts left
// can hold every replica.
import { KUBECTL_FUNCTION } from "../kubectl";
import { IS_ONE_OF_FUNCTION, script, shellQuote } from "../script";
import { CEPH_FUNCTION, CLUSTER_NAME, HEALTH_TIMEOUT_MINUTES, NAMESPACE, osdNodes, RookSpec, WAIT_SECONDS } from "./render";

/** The CRUSH root Rook puts every host under. */
const CRUSH_ROOT = "default";
/** How long a stopped OSD may take to be marked down before its purge is given up (Ceph marks it within seconds of the stop). */
const OSD_DOWN_SECONDS = 300;

/**
 * On the admin node, whenever the OSD hosts in the config change: every host in Ceph's CRUSH map
 * that is no longer one (a node taken out of the config, or its osdDevices emptied) leaves Ceph, in
 * this order, each part idempotent, so a run cut short goes on where it stopped:
 * 1. refuse unless every configured OSD host has an OSD up (a host being added must carry its
 *    replicas first) and they are at least poolSize (one replica per host);
 * 2. its OSDs marked out: Ceph copies their placement groups elsewhere while they still serve;
 * 3. a bounded wait until every placement group is active+clean and Ceph says the OSDs are safe to
 *    destroy (on timeout nothing is lost: they stay out, and the next up waits again);
 * 4. each OSD stopped (its deployment scaled to 0), purged from Ceph's maps, its deployment deleted;
 * 5. the empty host removed from the CRUSH map.
 * A cluster that has never been up (no fsid yet) has nothing to remove.
 */
export function renderOsdDeparturesScript(spec: Pick<RookSpec, "nodes" | "poolSize" | "healthTimeoutMinutes">): string {
    const hosts = osdNodes(spec).map((node) => node.hostname);
    const limit = (spec.healthTimeoutMinutes ?? HEALTH_TIMEOUT_MINUTES) * 60;
    return script(
        KUBECTL_FUNCTION,
        CEPH_FUNCTION,
        `osd_hosts=(${hosts.map(shellQuote).join(" ")})
pool_size=${spec.poolSize}
${IS_ONE_OF_FUNCTION}
fsid=$(kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o jsonpath='{.status.ceph.fsid}' 2>/dev/null || true)
if [ -z "$fsid" ]; then
  echo "Ceph has not been up yet: no OSD host can have left it"
  exit 0
fi
answered=no
for _ in $(seq 30); do
  if crush_hosts=$(ceph_ osd crush ls ${CRUSH_ROOT}); then answered=yes; break; fi
  sleep ${WAIT_SECONDS}
done
[ "$answered" = yes ] || { echo "Ceph (fsid $fsid) does not answer ($((30 * ${WAIT_SECONDS})) s): cannot tell whether an OSD host left it; nothing was changed" >&2; exit 1; }
departed=()
for host in $crush_hosts; do
  is_one_of "$host" "\${osd_hosts[@]}" || departed+=("$host")
done
if [ \${#departed[@]} -eq 0 ]; then
  echo "every OSD host in Ceph's map is in the config (\${osd_hosts[*]})"
  exit 0
fi
echo "leaving Ceph: \${departed[*]} (no longer OSD hosts in the config)"`,
        `# 1. the hosts that stay hold every replica: enough of them, and each with an OSD up (a host being added carries its replicas first)
if [ \${#osd_hosts[@]} -lt "$pool_size" ]; then
  echo "refusing: without \${departed[*]} Ceph would have \${#osd_hosts[@]} OSD host(s) for storage.poolSize $pool_size (one replica per host); nothing was changed" >&2
  exit 1
fi
# one look at the OSD map per round, for every host
up_osds_of() { local id; for id in $(ceph_ osd ls-tree "$1" 2>/dev/null); do grep -E "^osd\\.$id up " <<<"$dump" >/dev/null && echo "$id"; done; }
started=$(date +%s)
while true; do
  missing=()
  dump=$(ceph_ osd dump || true)
  for host in "\${osd_hosts[@]}"; do [ -n "$(up_osds_of "$host")" ] || missing+=("$host"); done
  [ \${#missing[@]} -eq 0 ] && break
  if [ $(($(date +%s) - started)) -ge ${limit} ]; then
    echo "no OSD is up on \${missing[*]} after ${limit} s; \${departed[*]} stay(s) in Ceph until every OSD host in the config can take its replicas. Nothing was changed." >&2
    exit 1
  fi
  sleep ${WAIT_SECONDS}
done`,
        `# 2. out: Ceph moves their placement groups to the other hosts while these OSDs still serve them
ids=()
for host in "\${departed[@]}"; do
  for id in $(ceph_ osd ls-tree "$host"); do ids+=("$id"); done
done
for id in "\${ids[@]}"; do
  ceph_ osd out "$id" >/dev/null
  echo "osd.$id marked out"
done
osd_list=$(printf 'osd.%s, ' "\${ids[@]}")
osd_list=\${osd_list%, }`,
        `# 3. every placement group active+clean, and Ceph agrees these OSDs hold nothing it still needs (bounded)
all_clean() {
  local stat
  stat=$(ceph_ pg stat) || return 1
  # "97 pgs: 97 active+clean; ..." -> every pg counted as active+clean
  [ "$(sed -n 's/^\\([0-9]*\\) pgs: \\([0-9]*\\) active+clean;.*/\\1 \\2/p' <<<"$stat" | awk '$1 == $2 { print "yes" }')" = yes ]
}
if [ \${#ids[@]} -gt 0 ]; then
  started=$(date +%s)
  until all_clean && ceph_ osd safe-to-destroy "\${ids[@]}" >/dev/null; do
    if [ $(($(date +%s) - started)) -ge ${limit} ]; then
      echo "after ${limit} s Ceph still needs $osd_list (placement groups: $(ceph_ pg stat || echo unknown)); they stay out and keep their data; the next up waits again" >&2
      exit 1
    fi
    sleep ${WAIT_SECONDS}
  done
  echo "every placement group is active+clean without $osd_list"
fi`,
        `# 4. each OSD stopped, purged from Ceph's maps, its deployment gone
for id in "\${ids[@]}"; do
  kc -n ${NAMESPACE} scale deployment "rook-ceph-osd-$id" --replicas=0 >/dev/null 2>&1 || true
  started=$(date +%s)
  until ! ceph_ osd dump | grep -E "^osd\\.$id up " >/dev/null; do
    if [ $(($(date +%s) - started)) -ge ${OSD_DOWN_SECONDS} ]; then echo "osd.$id is still up ${OSD_DOWN_SECONDS} s after its deployment was scaled to 0; not purged" >&2; exit 1; fi
    sleep ${WAIT_SECONDS}
  done
  ceph_ osd purge "$id" --yes-i-really-mean-it >/dev/null
  kc -n ${NAMESPACE} delete deployment "rook-ceph-osd-$id" --ignore-not-found >/dev/null
  echo "osd.$id purged"
done`,
        `# 5. the hosts, empty now, out of the CRUSH map
for host in "\${departed[@]}"; do
  ceph_ osd crush rm "$host" >/dev/null
  echo "$host removed from Ceph's CRUSH map"
done`,
    );
}
