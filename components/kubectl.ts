// How scripts on the admin node talk to the cluster: kubectl with kubeadm's admin kubeconfig.
// Pure (no SDK), like ./script.

export const ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf";

/** `kc ARGS...`: kubectl as the cluster's admin. */
export const KUBECTL_FUNCTION = `kc() { kubectl --kubeconfig ${ADMIN_KUBECONFIG} "$@"; }`;

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
if ! kc --request-timeout=10s get --raw /readyz >/dev/null 2>&1; then
  echo "the cluster does not answer; ${nothingToDo}"
  exit 0
fi`;
}
