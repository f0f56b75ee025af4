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

/**
 * `read_etcd_members`: etcd's members, in the arrays member_ids, member_names and
 * member_client_urls (one index per member); fails when the local member does not answer. Needs IN_ETCD.
 */
export const READ_ETCD_MEMBERS_FUNCTION = `read_etcd_members() {
  local list id name client_url
  list=$(etcdctl_ member list) || return 1
  member_ids=() member_names=() member_client_urls=()
  # "8e9e05c52164694d, started, home-server-1, https://10.0.0.101:2380, https://10.0.0.101:2379, false"
  while IFS=', ' read -r id _ name _ client_url _; do
    [ -n "$id" ] || continue
    member_ids+=("$id") member_names+=("$name") member_client_urls+=("$client_url")
  done <<<"$list"
}`;
