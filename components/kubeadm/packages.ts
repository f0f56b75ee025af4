// Pure renderer of KubeadmCluster's install step: the pinned packages (upstream or a mirror) and
// containerd; a joined node at another version is left to its upgrade step (./rolling-upgrade).
import { APT_FUNCTION, NEWER_FUNCTION, RETRY_FUNCTION, script, writeFileIfChanged } from "../script";
import { minorOf, plainVersion } from "../version";
import { renderImageImport, renderMirrorFetch } from "../airgap";
import { renderContainerdConfig } from "./containerd";
import { renderMirrorInstall } from "./mirror";

/**
 * Where kubeadm, kubelet, kubectl and the control-plane images come from: pkgs.k8s.io and
 * registry.k8s.io, or (air-gapped) a file server laid out as offline/build-kubernetes.sh writes it.
 */
export type PackageSource = { source: "upstream" } | { source: "mirror"; url: string };

/** The apt repository section for the upstream source. */
export function renderPackageSource(version: string): string {
    const repo = `https://pkgs.k8s.io/core:/stable:/v${minorOf(version)}/deb/`;
    const keyring = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
    return `# the pkgs.k8s.io repository of Kubernetes ${minorOf(version)}, signed by its own key
if [ ! -s ${keyring} ]; then
  if ! command -v curl >/dev/null 2>&1 || ! command -v gpg >/dev/null 2>&1; then
    apt_get update -q
    apt_get install -y -q --no-install-recommends ca-certificates curl gpg
  fi
  key_tmp=$(mktemp)
  retry 5 10 curl -fsSL --connect-timeout 20 -o "$key_tmp" ${repo}Release.key
  install -d -m 755 /etc/apt/keyrings
  gpg --dearmor --batch --yes -o ${keyring} "$key_tmp"
  chmod 644 ${keyring}
  rm -f "$key_tmp"
fi
CHANGED=0
${writeFileIfChanged("/etc/apt/sources.list.d/kubernetes.list", `deb [signed-by=${keyring}] ${repo} /`, "644")}
if [ "$CHANGED" = 1 ]; then echo "apt repository ${repo} configured"; fi`;
}

/**
 * The .deb packages `names` at the pinned version, held so that an unattended upgrade never moves
 * them: installed where missing or at another version (a node that has not joined, or one whose
 * upgrade step is moving it), from the pkgs.k8s.io repository of that minor.
 */
export function upstreamInstall(want: string, hostname: string, names: string[] = ["kubeadm", "kubelet", "kubectl"]): string[] {
    return [
        `installed_version() {
  dpkg-query -W -f='\${db:Status-Abbrev}|\${Version}\\n' "$1" 2>/dev/null | awk -F'|' '$1 ~ /^ii/ { print $2 }'
}
pinned=(${names.join(" ")})
outdated=()
for pkg in "\${pinned[@]}"; do
  if [[ "$(installed_version "$pkg")" != "$want"-* ]]; then outdated+=("$pkg"); fi
done`,
        renderPackageSource(want),
        `if [ \${#outdated[@]} -gt 0 ]; then
  apt_get update -q
  # pkgs.k8s.io versions look like \${want}-1.1; a held package moves only when named so
  versions=()
  for pkg in "\${outdated[@]}"; do versions+=("$pkg=$want-*"); done
  apt_get install -y -q --no-install-recommends --allow-downgrades --allow-change-held-packages "\${versions[@]}"
  echo "installed \${outdated[*]} $want on ${hostname}"
fi`,
        `# held, so that an unattended apt upgrade never moves the cluster to another version
held=$(apt-mark showhold)
for pkg in "\${pinned[@]}"; do
  if ! grep -qx "$pkg" <<<"$held"; then
    apt-mark hold "$pkg" >/dev/null
    echo "$pkg held at $want"
  fi
done`,
    ];
}

/** containerd configured for the kubelet, with the pause image this kubeadm expects: air-gapped nodes have no other. */
export function containerdSection(want: string): string {
    return `# containerd's sandbox (pause) image must be the one kubeadm ${want} expects
pause_image=$(kubeadm config images list --kubernetes-version v${want} 2>/dev/null | grep '/pause:' || true)
if [ -z "$pause_image" ]; then echo "kubeadm v${want} names no pause image" >&2; exit 1; fi
${renderContainerdConfig("$pause_image")}`;
}

/**
 * On a node that has joined at another version: nothing of its Kubernetes changes here (its upgrade
 * step does that, drained, one node at a time); from a mirror, the new version's images are
 * imported ahead, so that every node has them before the first upgrade (kubeadm's upgrade checks
 * run a pod of the new pause image on some other node). A later version already running is refused.
 */
function joinedAtAnotherVersion(packages: PackageSource, want: string, hostname: string): string {
    const stage = packages.source === "mirror"
        ? `${renderMirrorFetch(packages.url, hostname).replace(/^/gm, "  ")}
${renderImageImport({ comment: `the images of v${want}, ahead of this node's upgrade` }).replace(/^/gm, "  ")}`
        : "  # pkgs.k8s.io and registry.k8s.io: the upgrade step fetches what it needs";
    return `# a node that has joined at another version is moved by its upgrade step, not here
${NEWER_FUNCTION}
want=${want}
have=$(kubeadm version -o short 2>/dev/null || true)
if [ -n "$have" ] && [ "$have" != "v$want" ] && [ -f /etc/kubernetes/kubelet.conf ]; then
  if newer "$have" "v$want"; then
    echo "${hostname} runs Kubernetes $have, later than v$want; Kubernetes cannot be downgraded: set kubernetes.version to $have or later" >&2
    exit 1
  fi
${stage}
  echo "${hostname} runs Kubernetes $have; its upgrade step moves it to v$want, drained, one node at a time"
  exit 0
fi`;
}

/**
 * Installs kubelet, kubeadm and kubectl (and, from a mirror, the images) at the pinned version on a
 * node that has not joined (replacing another version left from before); on a joined node at
 * another version it only stages what that node's upgrade step will need (see ./rolling-upgrade).
 */
export function renderPackagesScript(packages: PackageSource, version: string, hostname: string): string {
    const want = plainVersion(version);
    return script(
        RETRY_FUNCTION,
        APT_FUNCTION,
        `# what a killed run left half-installed is finished before anything counts as installed
dpkg_ready`,
        joinedAtAnotherVersion(packages, want, hostname),
        ...(packages.source === "upstream" ? upstreamInstall(want, hostname) : [renderMirrorInstall(packages.url, hostname)]),
        containerdSection(want),
        `systemctl enable kubelet >/dev/null 2>&1`,
    );
}
