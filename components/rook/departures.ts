// Pure renderer of RookCeph's step for OSD hosts that left the stack config: their OSDs are
// taken out of Ceph only once the data they held has other homes, and only while the hosts left
// can hold every replica.
import { KUBECTL_FUNCTION } from "../kubectl";
import { IS_ONE_OF_FUNCTION, script, shellQuote } from "../script";
import { cephAnswersSection, everyHostHasAnOsdUp, OSD_UP_FUNCTION, osdRemovalSections } from "./osd-removal";
import { CEPH_FUNCTION, HEALTH_TIMEOUT_MINUTES, osdNodes, RookSpec } from "./render";

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
${OSD_UP_FUNCTION}
${cephAnswersSection("no OSD host can have left it", "whether an OSD host left it")}
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
${everyHostHasAnOsdUp(limit, "\${departed[*]} stay(s) in Ceph")}`,
        `# 2. their OSDs
ids=()
for host in "\${departed[@]}"; do
  for id in $(ceph_ osd ls-tree "$host"); do ids+=("$id"); done
done`,
        ...osdRemovalSections(limit),
        `# 5. the hosts, empty now, out of the CRUSH map
for host in "\${departed[@]}"; do
  ceph_ osd crush rm "$host" >/dev/null
  echo "$host removed from Ceph's CRUSH map"
done`,
    );
}
