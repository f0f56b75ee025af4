// Pure renderers for LabPower: the scripts its routine (./routine.js) runs on the nodes to switch
// the lab off in a safe order and to see it healthy again after it is switched on.
import { KUBECTL_FUNCTION } from "../kubectl";
import { RESOURCE_NAME as VIP_RESOURCE } from "../pacemaker/render";
import { CEPH_FUNCTION } from "../rook/render";
import { RETRY_FUNCTION, script } from "../script";

/** Ceph's config-key that says this program set noout for a shutdown, so that power-on unsets only its own. */
export const NOOUT_KEY = "homelab/noout-set-by-power-off";

/**
 * On a control plane, before any node stops: with storage, Ceph must be HEALTH_OK (unless the
 * config says to go on regardless; its health detail is printed either way), then `noout`, so
 * that no OSD is marked out and no data moves while its node is off. Not pause or nodedown:
 * `noout` is all a planned power-down needs, and unsetting pause has been seen to hang.
 * Exits 3 when it refuses.
 */
export function renderShutdownPreflightScript(spec: { storage: boolean; ignoreCephHealth: boolean }): string {
    if (!spec.storage) return script(`echo "no Ceph in this lab: nothing to check before the shutdown"`);
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        CEPH_FUNCTION,
        `health=$(ceph_ health || true)
if [ -z "$health" ]; then
  echo "Ceph does not answer (through the Rook operator's pod): cannot tell whether its data is safe to power down" >&2
${spec.ignoreCephHealth ? `  echo "going on: homelab:shutdown.ignoreCephHealth is true" >&2` : `  echo "nothing was shut down; set homelab:shutdown.ignoreCephHealth to true to power down regardless" >&2
  exit 3`}
elif [ "\${health%% *}" != HEALTH_OK ]; then
  echo "Ceph is not HEALTH_OK:" >&2
  ceph_ health detail >&2 || true
${spec.ignoreCephHealth ? `  echo "going on: homelab:shutdown.ignoreCephHealth is true" >&2` : `  echo "nothing was shut down; let Ceph heal first (or set homelab:shutdown.ignoreCephHealth to true to power down regardless)" >&2
  exit 3`}
else
  echo "Ceph is HEALTH_OK"
fi`,
        `# noout: OSDs that go down with their nodes are not marked out, so no data moves while the lab is off
if [ -n "$health" ]; then
  retry 5 5 ceph_ osd set noout >/dev/null
  retry 5 5 ceph_ config-key set ${NOOUT_KEY} "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
  echo "noout set"
fi`,
    );
}

/** On a control plane: the member holding the API's VIP, so that it is shut down last. Prints its name, or nothing. */
export function renderVipHolderScript(): string {
    return script(`crm_resource --resource ${VIP_RESOURCE} --locate 2>/dev/null | sed -n 's/.*is running on: *//p' | head -n 1`);
}

/** The certificates and kubeconfigs kubeadm made on a control plane, whose expiry stops the API. */
const KUBEADM_CERTIFICATES = "/etc/kubernetes/pki/*.crt /etc/kubernetes/pki/etcd/*.crt";
const KUBEADM_KUBECONFIGS = "/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf /etc/kubernetes/kubelet.conf";

/**
 * On a control plane, once every node is back (all of them restarted at once), with what can keep
 * a cold start from coming up said by name: a certificate that expired while the lab was off (it
 * stops the API whatever else works; renewing is `kubeadm certs renew`), corosync without a quorum
 * (no VIP), etcd without a quorum, a node that stays NotReady. Bounded by `timeoutSeconds`. Once
 * the API answers, deletes the pods of ReplicaSets that the shutdown ended (see the script).
 */
export function renderClusterWaitScript(spec: { timeoutSeconds: number }): string {
    return script(
        KUBECTL_FUNCTION,
        `# certificates that expired while the lab was off: the API cannot come back with them
expired=""
for crt in ${KUBEADM_CERTIFICATES}; do
  [ -f "$crt" ] || continue
  if ! openssl x509 -checkend 0 -noout -in "$crt" >/dev/null 2>&1; then
    expired="$expired
  $crt expired on $(openssl x509 -enddate -noout -in "$crt" | cut -d= -f2)"
  fi
done
for conf in ${KUBEADM_KUBECONFIGS}; do
  [ -f "$conf" ] || continue
  data=$(sed -n 's/^ *client-certificate-data: *//p' "$conf" | head -n 1)
  [ -n "$data" ] || continue
  if ! echo "$data" | base64 -d | openssl x509 -checkend 0 -noout >/dev/null 2>&1; then
    expired="$expired
  $conf's client certificate expired on $(echo "$data" | base64 -d | openssl x509 -enddate -noout | cut -d= -f2)"
  fi
done
if [ -n "$expired" ]; then
  echo "on $(hostname), certificates expired while the lab was off:$expired" >&2
  echo "the API cannot answer with them: renew them (sudo kubeadm certs renew all, then restart the control-plane pods) and run pulumi up again" >&2
  exit 1
fi`,
        `started=$(date +%s)
deadline=$((started + ${spec.timeoutSeconds}))
# corosync's quorum: every member restarted at once; without a majority Pacemaker places no VIP
until corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "corosync has no quorum ${spec.timeoutSeconds} s after the power-on, so the VIP cannot be placed:" >&2
    corosync-quorumtool -s >&2 || true
    exit 1
  fi
  sleep 5
done
echo "corosync is quorate ($(($(date +%s) - started)) s)"
# /readyz?verbose lists etcd's check: it passes only while etcd has a quorum (its members came back on their addresses)
until kc --request-timeout=10s get --raw '/readyz?verbose' 2>/dev/null | grep -F '[+]etcd ok' >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "the API did not answer through the VIP with etcd healthy within ${spec.timeoutSeconds} s" >&2
    kc --request-timeout=10s get --raw '/readyz?verbose' >&2 || true
    # crictl need not be there (an air-gapped install): the processes say whether they run
    pgrep -a -x etcd >&2 || echo "etcd does not run here" >&2
    pgrep -a -f '^kube-apiserver( |$)' | cut -c1-120 >&2 || echo "kube-apiserver does not run here" >&2
    exit 1
  fi
  sleep 5
done
echo "the API answers through the VIP, etcd has a quorum ($(($(date +%s) - started)) s)"
# the pods the kubelets' graceful shutdown ended stay behind as Failed beside their replacements;
# Rook's check for two mons on one node counts them (Rook v1.17.8) and fails a healthy mon over at
# every power-on. A ReplicaSet has replaced its Failed pods already, so these go; a bare pod, a
# Job's (its failures count) or a StatefulSet's (its controller handles them) are left as they are.
leftovers=$(kc get pods --all-namespaces --field-selector status.phase=Failed --no-headers \\
  -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind 2>/dev/null |
  awk '$3 == "ReplicaSet" { print $1 "/" $2 }') || true
for pod in $leftovers; do
  if kc -n "\${pod%%/*}" delete pod "\${pod#*/}" --ignore-not-found --wait=false >/dev/null; then
    echo "deleted $pod: ended by the shutdown, replaced by its ReplicaSet"
  fi
done
left=$((deadline - $(date +%s)))
[ "$left" -gt 30 ] || left=30
if ! kc wait --for=condition=Ready nodes --all --timeout="\${left}s" >/dev/null; then
  echo "not every node is Ready:" >&2
  kc get nodes >&2 || true
  exit 1
fi
echo "every node is Ready ($(($(date +%s) - started)) s)"`,
    );
}

/**
 * On a control plane, once the cluster is back: unsets noout if a power-off of this program set it.
 * The ceph CLI answers only once the operator's pod and a mon quorum are back, so it waits for an
 * answer first (up to `timeoutSeconds`): taking no answer for "not set" left noout set after a cold
 * start, and the wait for HEALTH_OK that follows could then never end (the power suite, 2026-12-07).
 */
export function renderNooutUnsetScript(timeoutSeconds: number): string {
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        CEPH_FUNCTION,
        `deadline=$(($(date +%s) + ${timeoutSeconds}))
# ceph config-key exists: 0 when the key is there, ENOENT (2) when not; anything else is no answer
until osd_dump=$(ceph_ osd dump) && { ceph_ config-key exists ${NOOUT_KEY} >/dev/null; marker=$?; [ "$marker" = 0 ] || [ "$marker" = 2 ]; }; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "Ceph did not answer within ${timeoutSeconds} s of the cluster's return, so noout, if a power-off set it, is still set: run pulumi up again, or ceph osd unset noout once Ceph answers" >&2
    exit 1
  fi
  sleep 5
done
if [ "$marker" = 0 ]; then
  set_at=$(retry 5 5 ceph_ config-key get ${NOOUT_KEY})
  retry 5 5 ceph_ osd unset noout >/dev/null
  retry 5 5 ceph_ config-key rm ${NOOUT_KEY} >/dev/null
  echo "noout unset (set by the power-off at $set_at)"
elif echo "$osd_dump" | grep -E '^flags .*noout' >/dev/null; then
  echo "noout is set, but not by a power-off of this program: left as it is" >&2
else
  echo "noout is not set"
fi`,
    );
}
