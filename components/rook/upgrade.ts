// Pure: whether the Rook operator that runs can be moved to storage.rookVersion in place. Rook's
// upgrade guide: one minor release at a time, never back, and only on a Ceph cluster that is not in
// error (a new storage.cephImage is then rolled out by Rook itself, daemon by daemon; the wait step
// is done once every daemon runs it).
import { NEWER_FUNCTION } from "../script";
import { plainVersion } from "../version";
import { CEPH_FUNCTION, CLUSTER_NAME, NAMESPACE } from "./render";

/**
 * Bash, after KUBECTL_FUNCTION, run before another Rook bundle than the running one is applied: the
 * version of the operator image that runs (none on a new cluster); a later one, or one more than a
 * minor behind `rookVersion`, is refused naming storage.rookVersion, and so is any change while Ceph
 * is HEALTH_ERR (with Ceph's own detail); nothing is applied then.
 */
export function renderRookUpgradeCheck(rookVersion: string): string {
    const want = plainVersion(rookVersion);
    return `# Rook moves one minor release at a time, never back, and not while Ceph is in error
${NEWER_FUNCTION}
${CEPH_FUNCTION}
running=$(kc -n ${NAMESPACE} get deployment rook-ceph-operator -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || true)
running=\${running##*:}
running=\${running#v}
if [ -n "$running" ] && [ "$running" != ${want} ]; then
  if newer "$running" ${want}; then
    echo "storage.rookVersion ${want} is older than the running Rook $running; Rook cannot be downgraded: set storage.rookVersion to $running or later" >&2
    exit 1
  fi
  IFS=. read -r running_major running_minor _ <<<"$running"
  IFS=. read -r want_major want_minor _ <<<${want}
  if [ "$running_major" != "$want_major" ] || [ $((want_minor - running_minor)) -gt 1 ]; then
    echo "storage.rookVersion ${want} is more than one minor release above the running Rook $running; Rook upgrades one minor at a time: set storage.rookVersion to $running_major.$((running_minor + 1)).x first" >&2
    exit 1
  fi
  if kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o name >/dev/null 2>&1; then
    health=$(ceph_ health detail || true)
    if [ "\${health%% *}" = HEALTH_ERR ] || [ -z "$health" ]; then
      echo "Rook is not upgraded (storage.rookVersion ${want}) while Ceph is in error or does not answer; nothing was applied:" >&2
      echo "\${health:-no answer from the ceph CLI in the operator pod}" >&2
      exit 1
    fi
  fi
  echo "upgrading Rook from $running to ${want}"
fi`;
}
