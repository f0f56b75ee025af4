// Pure renderer of KubeadmCluster's step before a node joins: a machine put in place of a dead one
// under the same hostname finds the dead one's Node and etcd member in its way.
import { IN_ETCD, READ_ETCD_MEMBERS_FUNCTION } from "../etcd";
import { KUBECTL_FUNCTION, NODE_READY_FUNCTION } from "../kubectl";
import { script, shellQuote } from "../script";
import { NodeRole } from "./config";

export interface AdmissionSpec {
    /** e.g. home-server-3 */
    hostname: string;
    role: NodeRole;
    /** The machine now at the node's address: sha256 of its /etc/machine-id, or "unknown" (BareMetalNode.machine). */
    machine: string;
}

/**
 * On the first control plane, before `hostname` joins. The kubelet records its machine's id in the
 * Node it registers (status.nodeInfo.machineID); when that Node was registered by another machine
 * than the one now at the node's address, the old machine is gone (a dead board, a lost disk) and
 * what it left behind would stop the new one from joining. Then, each part checked first, so a rerun
 * goes on where one stopped:
 * 1. refuse while the old Node is still Ready (two machines would claim one name);
 * 2. a control plane: refuse unless every other etcd member answers (a member removed while
 *    another is down could cost etcd its quorum) and while the old member itself answers; then
 *    remove it (kubeadm adds the new machine as a member of its own);
 * 3. delete the old Node (its pods go with it; the new kubelet registers a Node of its own).
 * A Node of this machine, no Node at all, or a machine without an id: nothing to do.
 */
export function renderAdmissionScript(spec: AdmissionSpec): string {
    const controlPlane = spec.role === "control-plane";
    return script(
        KUBECTL_FUNCTION,
        NODE_READY_FUNCTION,
        ...(controlPlane ? [IN_ETCD, READ_ETCD_MEMBERS_FUNCTION] : []),
        `host=${shellQuote(spec.hostname)}
machine=${shellQuote(spec.machine)}
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
registered_id=\${registered#* }
if [ -z "$registered_id" ]; then
  echo "Node $host records no machine id: it is taken to be this machine's"
  exit 0
fi
if [ "$(printf '%s' "$registered_id" | sha256sum | cut -d' ' -f1)" = "$machine" ]; then
  echo "Node $host was registered by the machine at its address: nothing to clean up"
  exit 0
fi
echo "Node $host was registered by another machine than the one now at its address (a replaced machine): its Node${controlPlane ? " and etcd member go" : " goes"} before the new machine joins"`,
        `# 1. the old machine no longer runs as $host
ready=$(node_ready "$host")
if [ "$ready" = True ]; then
  echo "refusing: Node $host is Ready, so the machine that registered it still runs, while another machine answers at $host's address. Power the old one off (its Node turns NotReady within a minute) and run pulumi up again; nothing was changed" >&2
  exit 1
fi`,
        ...(controlPlane ? [`# 2. the old etcd member, from a quorum that stays whole
read_etcd_members || { echo "etcd on $(hostname) does not answer; $host's old member cannot be removed" >&2; exit 1; }
stale_id="" stale_url="" others=()
for i in "\${!member_ids[@]}"; do
  if [ "\${member_names[i]}" = "$host" ]; then stale_id=\${member_ids[i]}; stale_url=\${member_client_urls[i]}; else others+=("\${member_client_urls[i]}"); fi
done
if [ -z "$stale_id" ]; then
  echo "etcd has no member $host"
else
  if etcdctl_ --endpoints="$stale_url" --command-timeout=5s endpoint health >/dev/null 2>&1; then
    echo "refusing: $host's etcd member ($stale_id) answers at $stale_url; a member is never removed while it runs. Nothing was changed" >&2
    exit 1
  fi
  endpoints=$(IFS=,; echo "\${others[*]}")
  if ! health=$(etcdctl_ --endpoints="$endpoints" endpoint health 2>&1); then
    echo "refusing to remove $host's etcd member while another member is unhealthy; nothing was changed:" >&2
    echo "$health" >&2
    exit 1
  fi
  etcdctl_ member remove "$stale_id" >/dev/null
  echo "etcd member $host ($stale_id) of the old machine removed"
fi`] : []),
        `# ${controlPlane ? 3 : 2}. the old Node
kc delete node "$host" --ignore-not-found >/dev/null
echo "Node $host of the old machine deleted: the new machine registers its own when it joins"`,
    );
}
