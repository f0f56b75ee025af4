// Pure: whether the Rook operator that runs can be moved to storage.rookVersion in place (Rook's
// upgrade guide: one minor release at a time, never back, and only on a Ceph cluster that is not in
// error), and whether Ceph's daemons can be moved to storage.cephImage (forward only, at most two
// majors, not in error). Rook itself then rolls the new image out daemon by daemon; the wait step is
// done once every daemon runs it.
import { KUBECTL_FUNCTION } from "../kubectl";
import { NEWER_FUNCTION, script, shellQuote } from "../script";
import { plainVersion } from "../version";
import { CEPH_FUNCTION, CLUSTER_NAME, NAMESPACE } from "./render";

/** Bash, after CEPH_FUNCTION: `refusal` and Ceph's own detail, exit 1, while Ceph is HEALTH_ERR or does not answer. */
function refusedWhileInError(refusal: string, indent: string): string {
    return `health=$(ceph_ health detail || true)
if [ "\${health%% *}" = HEALTH_ERR ] || [ -z "$health" ]; then
  echo "${refusal} while Ceph is in error or does not answer; nothing was changed:" >&2
  echo "\${health:-no answer from the ceph CLI in the operator pod}" >&2
  exit 1
fi`.split("\n").map((line) => indent + line).join("\n");
}

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
${refusedWhileInError(`Rook is not upgraded (storage.rookVersion ${want})`, "    ")}
  fi
  echo "upgrading Rook from $running to ${want}"
fi`;
}

/** The Ceph release in an image's tag ("quay.io/ceph/ceph:v18.2.7" -> "18.2.7"); undefined for a digest or another tag. */
export function cephImageVersion(image: string): string | undefined {
    return /:v?(\d+\.\d+\.\d+)(?:-[\w.]+)?$/.exec(image)?.[1];
}

/**
 * Bash, run before the CephCluster is given another storage.cephImage than the one Rook reports
 * running: refused, with Ceph's own detail, while Ceph is HEALTH_ERR or does not answer; refused for
 * an older Ceph release (Ceph's daemons cannot go back) or one more than two major releases on
 * (Ceph upgrades from the two previous majors). Nothing is changed when it refuses.
 */
export function renderCephImageCheckScript(cephImage: string): string {
    const wanted = cephImageVersion(cephImage);
    return script(
        KUBECTL_FUNCTION,
        NEWER_FUNCTION,
        CEPH_FUNCTION,
        `# Ceph's daemons move forward only, at most two major releases, and not while Ceph is in error
if ! kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o name >/dev/null 2>&1; then
  echo "no CephCluster ${CLUSTER_NAME} yet: it starts at ${cephImage}"
  exit 0
fi
running=$(kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o jsonpath='{.status.version.image}' 2>/dev/null || true)
if [ "$running" = ${shellQuote(cephImage)} ]; then
  echo "Ceph runs ${cephImage}"
  exit 0
fi
running_version=$(kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o jsonpath='{.status.version.version}' 2>/dev/null || true)
running_version=\${running_version%%-*}
${wanted === undefined ? `echo "storage.cephImage ${cephImage} names no Ceph release in its tag: its release is not compared with the running \${running_version:-(unknown)}"` : `if [ -n "$running_version" ] && [ "$running_version" != ${wanted} ]; then
  if newer "$running_version" ${wanted}; then
    echo "storage.cephImage ${cephImage} is Ceph ${wanted}, older than the running Ceph $running_version ($running); Ceph cannot be downgraded: keep storage.cephImage at $running or a later release" >&2
    exit 1
  fi
  if [ $((${wanted.split(".")[0]} - \${running_version%%.*})) -gt 2 ]; then
    echo "storage.cephImage ${cephImage} is Ceph ${wanted}, more than two major releases above the running Ceph $running_version; Ceph upgrades from the two previous majors: go through a release in between first" >&2
    exit 1
  fi
fi`}
${refusedWhileInError(`Ceph is not moved to storage.cephImage ${cephImage}`, "")}
echo "moving Ceph from \${running:-(not reported yet)} to ${cephImage}; Rook restarts its daemons one at a time"`,
    );
}
