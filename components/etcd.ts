// Pure: how scripts on a control plane talk to its etcd member.

/** kubeadm's etcd pod mounts this host path at the same path in its container. */
const ETCD_PKI = "/etc/kubernetes/pki/etcd";
/**
 * etcd's own etcdctl and etcdutl, run in the etcd container's mount namespace (its files, and the
 * host paths it mounts at the same paths; its network is the host's): no crictl needed, which
 * kubeadm's packages bring but an air-gapped install need not have.
 */
export const IN_ETCD = `in_etcd() { nsenter -t "$(pgrep -o -x etcd)" -m -- "$@"; }
etcdctl_() {
  in_etcd etcdctl --endpoints=https://127.0.0.1:2379 --cacert=${ETCD_PKI}/ca.crt \\
    --cert=${ETCD_PKI}/healthcheck-client.crt --key=${ETCD_PKI}/healthcheck-client.key "$@"
}`;
