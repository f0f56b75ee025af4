// Pure renderer for the delete side of KubeadmCluster: `kubeadm reset` and the
// cleanup of what reset leaves behind (CNI config, iptables chains, IPVS, links).
import { script } from "../script";
import { ClusterNode, CRI_SOCKET } from "./config";
import { CONFIG_DIR, INIT_DONE, JOIN_DONE } from "./render";

/** Undoes kubeadm on one node, also what `kubeadm reset` leaves; fine when nothing is installed. */
export function renderResetScript(node: ClusterNode): string {
    return script(
        `# kubeadm reset stops the kubelet and removes what kubeadm made
if command -v kubeadm >/dev/null 2>&1; then
  kubeadm reset -f --cri-socket ${CRI_SOCKET} 2>&1 || echo "kubeadm reset reported errors; cleaning up anyway" >&2
else
  echo "kubeadm is not installed on ${node.hostname}; cleaning up what may be left"
fi`,
        `# what reset leaves: CNI config, Calico's node state, our configs, records and kubeconfigs
rm -rf /etc/cni/net.d /var/lib/calico ${CONFIG_DIR} /root/.kube ${INIT_DONE} ${JOIN_DONE}
if [ -n "\${SUDO_USER:-}" ]; then
  user_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
  if [ -n "$user_home" ]; then rm -rf "$user_home/.kube"; fi
fi`,
        node.role === "control-plane" ? `# etcd data (reset leaves it when the cluster no longer answers)\nrm -rf /var/lib/etcd` : "",
        `# iptables: only the chains of kube-proxy, Calico and the CNI portmap plugin, and the rules that use them;
# the lab's own rules stay
clean_table() {
  local family=$1 table=$2 before after
  command -v "$family-save" >/dev/null 2>&1 || return 0
  before=$("$family-save" -t "$table" 2>/dev/null) || return 0
  after=$(printf '%s\\n' "$before" | grep -Ev -e '^:(KUBE-|cali-|CNI-)' -e '^-A (KUBE-|cali-|CNI-)' \\
    -e ' -(j|g) (KUBE-|cali-|CNI-)' -e ' --goto (KUBE-|cali-|CNI-)' -e '--comment "?cali:' || true)
  if [ "$before" != "$after" ]; then
    printf '%s\\n' "$after" | "$family-restore" -T "$table"
    echo "removed Kubernetes and Calico rules from $family table $table"
  fi
}
# Calico and kube-proxy pick the legacy or the nft backend themselves: clean both
for family in iptables ip6tables iptables-legacy ip6tables-legacy iptables-nft ip6tables-nft; do
  for table in filter nat mangle raw; do
    clean_table "$family" "$table"
  done
done`,
        `# kube-proxy or Calico in nftables mode, IPVS, and the interfaces Calico and kube-proxy create
if command -v nft >/dev/null 2>&1; then
  for table in "ip kube-proxy" "ip6 kube-proxy" "ip calico" "ip6 calico"; do
    if nft list table "\${table% *}" "\${table#* }" >/dev/null 2>&1; then
      nft delete table "\${table% *}" "\${table#* }"
      echo "removed nftables table $table"
    fi
  done
fi
if command -v ipvsadm >/dev/null 2>&1 && [ -n "$(ipvsadm -Ln 2>/dev/null | tail -n +4)" ]; then
  ipvsadm --clear
  echo "cleared the IPVS tables"
fi
for link in kube-ipvs0 vxlan.calico vxlan-v6.calico wireguard.cali wg-v6.cali; do
  if ip link show "$link" >/dev/null 2>&1; then
    ip link delete "$link"
    echo "removed interface $link"
  fi
done
echo "${node.hostname} is reset"`,
    );
}
