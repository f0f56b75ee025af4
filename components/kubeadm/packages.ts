// Pure renderer of KubeadmCluster's install step: the pinned packages (upstream or a mirror) and containerd; no upgrades.
import { APT_FUNCTION, RETRY_FUNCTION, script, writeFileIfChanged } from "../script";
import { minorOf, plainVersion } from "../version";
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

function upgradeRefusal(hostname: string): string {
    return `upgrades are not automated yet: upgrade ${hostname} by hand (kubeadm upgrade) or set kubernetes.version back`;
}

/** The .deb packages at the pinned version, held so that an unattended upgrade never moves them. */
function upstreamInstall(want: string, hostname: string): string[] {
    return [
        `installed_version() {
  dpkg-query -W -f='\${db:Status-Abbrev}|\${Version}\\n' "$1" 2>/dev/null | awk -F'|' '$1 ~ /^ii/ { print $2 }'
}
missing=""
for pkg in kubeadm kubelet kubectl; do
  version=$(installed_version "$pkg")
  if [ -z "$version" ]; then
    missing="$missing $pkg"
  elif [[ "$version" != "$want"-* ]]; then
    echo "$pkg $version is installed on ${hostname} but $want is wanted; ${upgradeRefusal(hostname)}" >&2
    exit 1
  fi
done`,
        renderPackageSource(want),
        `if [ -n "$missing" ]; then
  apt_get update -q
  # pkgs.k8s.io versions look like ${want}-1.1
  apt_get install -y -q --no-install-recommends kubelet="$want-*" kubeadm="$want-*" kubectl="$want-*"
  echo "installed kubelet, kubeadm and kubectl $want on ${hostname}"
fi`,
        `# held, so that an unattended apt upgrade never moves the cluster to another version
held=$(apt-mark showhold)
for pkg in kubeadm kubelet kubectl; do
  if ! grep -qx "$pkg" <<<"$held"; then
    apt-mark hold "$pkg" >/dev/null
    echo "$pkg held at $want"
  fi
done`,
    ];
}

/** containerd configured for the kubelet, with the pause image this kubeadm expects: air-gapped nodes have no other. */
function containerdSection(want: string): string {
    return `# containerd's sandbox (pause) image must be the one kubeadm ${want} expects
pause_image=$(kubeadm config images list --kubernetes-version v${want} 2>/dev/null | grep '/pause:' || true)
if [ -z "$pause_image" ]; then echo "kubeadm v${want} names no pause image" >&2; exit 1; fi
${renderContainerdConfig("$pause_image")}`;
}

/** Installs kubelet, kubeadm and kubectl (and, from a mirror, the images) at the pinned version; refuses to upgrade. */
export function renderPackagesScript(packages: PackageSource, version: string, hostname: string): string {
    const want = plainVersion(version);
    return script(
        RETRY_FUNCTION,
        APT_FUNCTION,
        `# what a killed run left half-installed is finished before anything counts as installed
dpkg_ready`,
        `# another kubeadm version on the node means an upgrade, which this program does not do
want=${want}
have=$(kubeadm version -o short 2>/dev/null || true)
if [ -n "$have" ] && [ "$have" != "v$want" ]; then
  echo "kubeadm $have is installed on ${hostname} but v$want is wanted; ${upgradeRefusal(hostname)}" >&2
  exit 1
fi`,
        ...(packages.source === "upstream" ? upstreamInstall(want, hostname) : [renderMirrorInstall(packages.url, hostname)]),
        containerdSection(want),
        `systemctl enable kubelet >/dev/null 2>&1`,
    );
}
