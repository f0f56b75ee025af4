// Pure bash sections shared by RookCeph's steps that take OSDs out of Ceph for good: those of a host
// that left the config (./departures) and those a dead machine left behind (./replacements). Each
// runs on the admin node after KUBECTL_FUNCTION and CEPH_FUNCTION.
import { CLUSTER_NAME, NAMESPACE, WAIT_SECONDS } from "./render";

/** The CRUSH root Rook puts every host under. */
const CRUSH_ROOT = "default";

/** `osd_up ID`: whether that OSD is up in the OSD map read into `$dump` (ceph osd dump). */
export const OSD_UP_FUNCTION = `osd_up() { grep -E "^osd\\.$1 up " <<<"$dump" >/dev/null; }`;
/** How long a stopped OSD may take to be marked down before its purge is given up (Ceph marks it within seconds of the stop). */
const OSD_DOWN_SECONDS = 300;

/**
 * Ends the script where Ceph has never been up (no fsid: `nothingYet` says why that is fine), fails
 * where it does not answer (`cannotTell` says what is then unknown), and leaves the CRUSH map's
 * hosts in `crush_hosts`.
 */
export function cephAnswersSection(nothingYet: string, cannotTell: string): string {
    return `fsid=$(kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o jsonpath='{.status.ceph.fsid}' 2>/dev/null || true)
if [ -z "$fsid" ]; then
  echo "Ceph has not been up yet: ${nothingYet}"
  exit 0
fi
answered=no
for _ in $(seq 30); do
  if crush_hosts=$(ceph_ osd crush ls ${CRUSH_ROOT}); then answered=yes; break; fi
  sleep ${WAIT_SECONDS}
done
[ "$answered" = yes ] || { echo "Ceph (fsid $fsid) does not answer ($((30 * ${WAIT_SECONDS})) s): cannot tell ${cannotTell}; nothing was changed" >&2; exit 1; }`;
}

/**
 * Waits, bounded, until every host in \`osd_hosts\` has an OSD up, so that the hosts that stay can
 * take every replica; on timeout it fails, saying that `what` (e.g. "the departed hosts stay in
 * Ceph") and that nothing was changed. Defines `up_osds_of HOST` over the map in `$dump`; needs OSD_UP_FUNCTION.
 */
export function everyHostHasAnOsdUp(limitSeconds: number, what: string): string {
    return `# one look at the OSD map per round, for every host
up_osds_of() { local id; for id in $(ceph_ osd ls-tree "$1" 2>/dev/null); do osd_up "$id" && echo "$id"; done; }
started=$(date +%s)
while true; do
  missing=()
  dump=$(ceph_ osd dump || true)
  for host in "\${osd_hosts[@]}"; do [ -n "$(up_osds_of "$host")" ] || missing+=("$host"); done
  [ \${#missing[@]} -eq 0 ] && break
  if [ $(($(date +%s) - started)) -ge ${limitSeconds} ]; then
    echo "no OSD is up on \${missing[*]} after ${limitSeconds} s; ${what} until every OSD host in the config can take its replicas. Nothing was changed." >&2
    exit 1
  fi
  sleep ${WAIT_SECONDS}
done`;
}

/**
 * The OSDs in \`ids\` leave Ceph, each part idempotent: marked out (Ceph copies their placement
 * groups elsewhere, from them while they still serve), a bounded wait until every placement group
 * is active+clean and Ceph says they are safe to destroy (on timeout nothing is lost: they stay
 * out, and the next up waits again), then each stopped, purged from Ceph's maps, its deployment
 * deleted. Needs OSD_UP_FUNCTION.
 */
export function osdRemovalSections(limitSeconds: number): string[] {
    return [
        `# out: Ceph moves their placement groups to the other OSDs
for id in "\${ids[@]}"; do
  ceph_ osd out "$id" >/dev/null
  echo "osd.$id marked out"
done
osd_list=$(printf 'osd.%s, ' "\${ids[@]}")
osd_list=\${osd_list%, }`,
        `# every placement group active+clean, and Ceph agrees these OSDs hold nothing it still needs (bounded)
all_clean() {
  local stat
  stat=$(ceph_ pg stat) || return 1
  # "97 pgs: 97 active+clean; ..." -> every pg counted as active+clean
  [ "$(sed -n 's/^\\([0-9]*\\) pgs: \\([0-9]*\\) active+clean;.*/\\1 \\2/p' <<<"$stat" | awk '$1 == $2 { print "yes" }')" = yes ]
}
if [ \${#ids[@]} -gt 0 ]; then
  started=$(date +%s)
  until all_clean && ceph_ osd safe-to-destroy "\${ids[@]}" >/dev/null; do
    if [ $(($(date +%s) - started)) -ge ${limitSeconds} ]; then
      echo "after ${limitSeconds} s Ceph still needs $osd_list (placement groups: $(ceph_ pg stat || echo unknown)); they stay out and keep their data; the next up waits again" >&2
      exit 1
    fi
    sleep ${WAIT_SECONDS}
  done
  echo "every placement group is active+clean without $osd_list"
fi`,
        `# each OSD stopped, purged from Ceph's maps, its deployment gone
for id in "\${ids[@]}"; do
  kc -n ${NAMESPACE} scale deployment "rook-ceph-osd-$id" --replicas=0 >/dev/null 2>&1 || true
  started=$(date +%s)
  until dump=$(ceph_ osd dump) && ! osd_up "$id"; do
    if [ $(($(date +%s) - started)) -ge ${OSD_DOWN_SECONDS} ]; then echo "osd.$id is still up ${OSD_DOWN_SECONDS} s after its deployment was scaled to 0; not purged" >&2; exit 1; fi
    sleep ${WAIT_SECONDS}
  done
  ceph_ osd purge "$id" --yes-i-really-mean-it >/dev/null
  kc -n ${NAMESPACE} delete deployment "rook-ceph-osd-$id" --ignore-not-found >/dev/null
  echo "osd.$id purged"
done`,
    ];
}
