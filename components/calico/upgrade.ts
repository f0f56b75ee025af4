// Pure: whether the Calico running in the cluster can be moved to calico.version in place. Calico
// supports upgrades from the two previous minor releases; a downgrade is not supported at all.
import { NEWER_FUNCTION } from "../script";
import { plainVersion } from "../version";

/** How many minor releases back Calico upgrades from (its upgrade documentation). */
export const CALICO_UPGRADE_MINORS = 2;

/**
 * Bash, after KUBECTL_FUNCTION, run before Calico's manifests change: the version of the calico-node
 * DaemonSet that runs (either install method labels it k8s-app=calico-node), none on a new cluster;
 * a later version, or one more than two minors behind `version`, is refused naming calico.version,
 * the running version and what is allowed, before anything of Calico is applied.
 */
export function renderCalicoUpgradeCheck(version: string): string {
    const want = plainVersion(version);
    return `# Calico moves in place from the two previous minor releases only, and never back
${NEWER_FUNCTION}
running=$(kc get daemonset -A -l k8s-app=calico-node -o jsonpath='{.items[0].spec.template.spec.containers[?(@.name=="calico-node")].image}' 2>/dev/null || true)
running=\${running##*:}
running=\${running#v}
if [ -n "$running" ] && [ "$running" != ${want} ]; then
  if newer "$running" ${want}; then
    echo "calico.version ${want} is older than the running Calico $running; Calico cannot be downgraded: set calico.version to $running or later" >&2
    exit 1
  fi
  IFS=. read -r running_major running_minor _ <<<"$running"
  IFS=. read -r want_major want_minor _ <<<${want}
  if [ "$running_major" != "$want_major" ] || [ $((want_minor - running_minor)) -gt ${CALICO_UPGRADE_MINORS} ]; then
    echo "calico.version ${want} is more than ${CALICO_UPGRADE_MINORS} minor releases above the running Calico $running; Calico upgrades from the ${CALICO_UPGRADE_MINORS} previous minor releases only: set calico.version to $running_major.$((running_minor + ${CALICO_UPGRADE_MINORS})).x or earlier first" >&2
    exit 1
  fi
  echo "upgrading Calico from $running to ${want}"
fi`;
}
