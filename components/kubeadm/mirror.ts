// Pure renderers for the air-gapped package source: kubeadm, kubelet and kubectl
// and the control-plane images from a plain file server laid out as
// offline/build-kubernetes.sh writes it (SHA256SUMS, bin/<name>, images/<name>.tar),
// instead of pkgs.k8s.io and registry.k8s.io.
import { renderImageImport, renderMirrorFetch } from "../airgap";
import { writeFileIfChanged } from "../script";

export const MIRROR_BIN_DIR = "/usr/local/bin";
const BINARIES = ["kubeadm", "kubelet", "kubectl"];
/** What the kubelet and kubeadm .deb packages depend on, from the machine's own Debian/Ubuntu mirror. */
export const MIRROR_DEPENDENCIES = ["conntrack", "socat", "ethtool", "iptables", "ca-certificates", "curl"];

/** The unit and kubeadm drop-in the kubelet .deb packages ship, pointing at the mirror's binary. */
export function renderKubeletUnit(): { unit: string; dropIn: string } {
    const unit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=${MIRROR_BIN_DIR}/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target`;
    // the same drop-in as kubeadm's packages: kubeadm writes the files these variables point at
    const dropIn = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=${MIRROR_BIN_DIR}/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`;
    return { unit, dropIn };
}

/** Installs the binaries and imports the images from `url`, each checked against the mirror's SHA256SUMS. */
export function renderMirrorInstall(url: string, hostname: string): string {
    const { unit, dropIn } = renderKubeletUnit();
    return `# Debian packages the kubelet needs (the .deb packages of kubelet and kubeadm would pull these in)
missing_dependencies=""
for pkg in ${MIRROR_DEPENDENCIES.join(" ")}; do
  dpkg-query -W -f='\${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep '^ii' >/dev/null || missing_dependencies="$missing_dependencies $pkg"
done
if [ -n "$missing_dependencies" ]; then
  apt_get update -q
  # shellcheck disable=SC2086
  apt_get install -y -q --no-install-recommends $missing_dependencies
  echo "installed$missing_dependencies"
fi

${renderMirrorFetch(url, hostname)}

for binary in ${BINARIES.join(" ")}; do
  if [ -x ${MIRROR_BIN_DIR}/$binary ] && [ "$(sha256sum < ${MIRROR_BIN_DIR}/$binary | cut -d' ' -f1)" = "$(sum_of "bin/$binary")" ]; then
    continue
  fi
  fetch "bin/$binary" "$work/$binary"
  install -m 755 "$work/$binary" ${MIRROR_BIN_DIR}/$binary
  echo "installed $binary from $mirror"
done

CHANGED=0
${writeFileIfChanged("/etc/systemd/system/kubelet.service", unit, "644")}
${writeFileIfChanged("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", dropIn, "644")}
if [ "$CHANGED" = 1 ]; then
  systemctl daemon-reload
  echo "kubelet unit installed"
fi

${renderImageImport({ comment: "the control-plane images go straight into containerd: nothing is pulled from a registry" })}`;
}
