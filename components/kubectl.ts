// How scripts on the admin node talk to the cluster: kubectl with kubeadm's admin kubeconfig.
// Pure (no SDK), like ./script.

export const ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf";

/** `kc ARGS...`: kubectl as the cluster's admin. */
export const KUBECTL_FUNCTION = `kc() { kubectl --kubeconfig ${ADMIN_KUBECONFIG} "$@"; }`;

/** How often a delete step asks the API before it takes the cluster as gone. */
export const READYZ_ATTEMPTS = 6;

/**
 * For delete steps, after KUBECTL_FUNCTION: once the cluster is gone (or never answered) there is
 * nothing left to do, and a destroy must not fail on it. `nothingToDo` ends the message, e.g.
 * "nothing to delete for Calico".
 */
export function exitWhenClusterGone(nothingToDo: string): string {
    return `# nothing to do when the cluster is already gone
if ! command -v kubectl >/dev/null 2>&1 || [ ! -f ${ADMIN_KUBECONFIG} ]; then
  echo "no cluster on this node; ${nothingToDo}"
  exit 0
fi
# one missed answer is not a cluster gone: under load, or while the VIP moves, the API can miss one
# (a destroy in the lab skipped arming Rook's disk wipe on a single miss)
answered=no
for attempt in ${"$"}(seq ${READYZ_ATTEMPTS}); do
  if kc --request-timeout=10s get --raw /readyz >/dev/null 2>&1; then answered=yes; break; fi
  [ "$attempt" -lt ${READYZ_ATTEMPTS} ] && sleep 10
done
if [ "$answered" = no ]; then
  echo "the cluster does not answer (${READYZ_ATTEMPTS} tries, 10 s apart); ${nothingToDo}"
  exit 0
fi`;
}
