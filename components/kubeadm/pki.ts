// Pure: the cluster's authorities put back from a snapshot before `kubeadm init`, so that a lab
// rebuilt on new disks comes back as the cluster its etcd snapshot describes (kubeadm's documented
// way: the shared certificates in place, then init uses them instead of making new ones). The
// restored objects then trust the same CAs: the join discovery's CA in kube-public/cluster-info,
// the service-account keys that signed every token, the front proxy and etcd's own CA.
import { script } from "../script";

const PKI = "/etc/kubernetes/pki";

/** What kubeadm shares between control planes (its upload-certs list): the rest it derives from these. */
export const SHARED_PKI_FILES = [
    "ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key",
];

/**
 * On the node that runs `kubeadm init`, with a base64 tar.gz of SHARED_PKI_FILES on stdin (a
 * secret): a node without a cluster CA gets the snapshot's; a node whose CA is the snapshot's
 * (`caSha256`, the sha256 of its ca.crt) is left alone; a node with another CA is refused, since a
 * restore there would bring back objects trusted by a CA the cluster no longer has.
 */
export function renderRestorePkiScript(spec: { caSha256: string; snapshot: string }): string {
    return script(`host=$(hostname)
fail() { echo "$host: $*" >&2; exit 1; }
expected=${spec.caSha256}`, `if [ -f ${PKI}/ca.crt ]; then
  have=$(sha256sum < ${PKI}/ca.crt | cut -d' ' -f1)
  [ "$have" = "$expected" ] || fail "the cluster CA here (${PKI}/ca.crt, sha256 $have) is not the one in ${spec.snapshot} (sha256 $expected): restoring that snapshot would bring back objects trusted by another CA (the join discovery, service-account tokens); nothing changed. Name a snapshot of this cluster as it is, or rebuild on machines without ${PKI}"
  echo "$host: the cluster CA here is the snapshot's; nothing to put back"
  exit 0
fi`, `staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
base64 -d | tar -xzf - -C "$staging"
for file in ${SHARED_PKI_FILES.join(" ")}; do
  [ -f "$staging/$file" ] || fail "the snapshot's PKI holds no $file: nothing put back"
done
[ "$(sha256sum < "$staging/ca.crt" | cut -d' ' -f1)" = "$expected" ] || fail "the PKI received is not the one planned (its ca.crt differs): nothing put back"
install -d -m 755 ${PKI} ${PKI}/etcd
for file in ${SHARED_PKI_FILES.join(" ")}; do
  case $file in *.key) mode=600 ;; *) mode=644 ;; esac
  install -m "$mode" "$staging/$file" "${PKI}/$file.homelab-new"
done
# ca.crt last: its presence is what says the PKI is in place
for file in ${SHARED_PKI_FILES.filter((file) => file !== "ca.crt").join(" ")} ca.crt; do
  mv "${PKI}/$file.homelab-new" "${PKI}/$file"
done
echo "$host: the cluster's CAs and service-account keys from ${spec.snapshot} are in ${PKI}; kubeadm init uses them"`);
}
