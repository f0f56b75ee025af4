// Pure renderer of RookCeph's step for OSDs that a dead machine left behind: a machine put in place
// of another under the same hostname gets OSDs of its own on its new disks, and the old ones, down
// for good, leave Ceph once their data has other homes.
import { KUBECTL_FUNCTION } from "../kubectl";
import { IS_ONE_OF_FUNCTION, script, shellQuote } from "../script";
import { cephAnswersSection, everyHostHasAnOsdUp, OSD_UP_FUNCTION, osdRemovalSections } from "./osd-removal";
import { CEPH_FUNCTION, HEALTH_TIMEOUT_MINUTES, NAMESPACE, osdNodes, RookSpec } from "./render";

export interface ReplacementsSpec extends Pick<RookSpec, "nodes" | "healthTimeoutMinutes"> {
    /** Per OSD host, which machine is at its address (BareMetalNode.machine), e.g. { "lab-3": "3f2a…" }: a new one runs this again. */
    machines: Record<string, string>;
}

/**
 * On the admin node, whenever a machine at an OSD host's address changes. An OSD is the dead
 * machine's when it is down and Rook made its deployment before the host's Node was registered: the
 * old machine's Node was deleted when the new one joined (KubeadmCluster's admission), and the new
 * Node is younger than anything the old machine ran. Then, in this order, each part idempotent:
 * 1. their deployments deleted (the operator waited out their rollout, 10 minutes on the lab,
 *    before it made new OSDs) and Rook's operator restarted: it looks at each node for disks once,
 *    and a new Node under a name it has seen is not looked at again (seen on the lab: no OSD
 *    prepared on the new machine until the operator started again);
 * 2. wait, bounded, until every OSD host has an OSD up (the new machine's carry the replicas); an
 *    old OSD up again by then (its disk moved into the new machine) is no longer the dead one's;
 * 3. the others marked out, a bounded wait until every placement group is active+clean without
 *    them, each purged and its deployment deleted (./osd-removal).
 * An OSD that is up, or younger than its host's Node (down for any other reason: a disk that is
 * failing, a node switched off), is never touched.
 */
export function renderReplacedOsdsScript(spec: ReplacementsSpec): string {
    const hosts = osdNodes(spec).map((node) => node.hostname);
    const limit = (spec.healthTimeoutMinutes ?? HEALTH_TIMEOUT_MINUTES) * 60;
    return script(
        KUBECTL_FUNCTION,
        CEPH_FUNCTION,
        `# machines at the OSD hosts' addresses: ${hosts.map((host) => `${host} ${(spec.machines[host] ?? "unknown").slice(0, 12)}`).join(", ")}
osd_hosts=(${hosts.map(shellQuote).join(" ")})
${IS_ONE_OF_FUNCTION}
${OSD_UP_FUNCTION}
${cephAnswersSection("no machine can have left OSDs behind", "whether a replaced machine left OSDs behind")}
dump=$(ceph_ osd dump) || { echo "Ceph's OSD map cannot be read; nothing was changed" >&2; exit 1; }
ids=()
for host in $crush_hosts; do
  is_one_of "$host" "\${osd_hosts[@]}" || continue
  registered=$(kc get node "$host" --ignore-not-found -o jsonpath='{.metadata.creationTimestamp}') || { echo "the Kubernetes API does not answer; nothing was changed" >&2; exit 1; }
  [ -n "$registered" ] || continue
  for id in $(ceph_ osd ls-tree "$host" 2>/dev/null); do
    osd_up "$id" && continue
    made=$(kc -n ${NAMESPACE} get deployment "rook-ceph-osd-$id" --ignore-not-found -o jsonpath='{.metadata.creationTimestamp}')
    # RFC 3339 times in UTC compare as text
    if [ -n "$made" ] && [[ "$made" < "$registered" ]]; then
      echo "osd.$id on $host is down, made $made, before $host's Node ($registered): the old machine's"
      ids+=("$id")
    fi
  done
done
if [ \${#ids[@]} -eq 0 ]; then
  echo "no OSD left behind by a replaced machine"
  exit 0
fi`,
        `# 1. the operator looks at the new machines' disks when it starts; the dead OSDs' deployments go first,
# as the operator would wait out their rollout (10 minutes on the lab) before it made the new OSDs; an OSD
# whose disk is found in the new machine gets its deployment back from the operator
for id in "\${ids[@]}"; do
  kc -n ${NAMESPACE} delete deployment "rook-ceph-osd-$id" --ignore-not-found >/dev/null
done
kc -n ${NAMESPACE} delete pod -l app=rook-ceph-operator --wait=false >/dev/null
echo "Rook's operator restarted, to prepare OSDs on the new machines' disks"`,
        `# 2. the new machines' OSDs are up to take the replicas
${everyHostHasAnOsdUp(limit, "the old machines' OSDs stay in Ceph (down)")}
# an old OSD up again (its disk moved into the new machine) stays
down_ids=()
for id in "\${ids[@]}"; do
  if osd_up "$id"; then echo "osd.$id is up again: kept"; else down_ids+=("$id"); fi
done
ids=("\${down_ids[@]}")`,
        ...osdRemovalSections(limit),
    );
}
