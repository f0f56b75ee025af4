#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

host=$(hostname)
fail() { echo "$host: $*" >&2; exit 1; }
in_etcd() { nsenter -t "$(pgrep -o -x etcd)" -m -- "$@"; }
etcdctl_() {
  in_etcd etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
# the member's name and peer URL as kubeadm wrote them, wherever the manifest is now
etcd_manifest() { if [ -f /etc/kubernetes/manifests/etcd.yaml ]; then echo /etc/kubernetes/manifests/etcd.yaml; else echo /etc/kubernetes/homelab-restore-held/etcd.yaml; fi; }
flag() { sed -n "s/^ *- --$1=//p" "$(etcd_manifest)" | head -n 1; }

: "${RESTORE_NAME:?}" "${RESTORE_PEER:?}" "${RESTORE_CLUSTER:?}" "${RESTORE_TOKEN:?}"
restored=/var/lib/etcd/homelab-restore/data

deadline=$(( $(date +%s) + 300 ))
until pgrep -x etcd >/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd does not run here after 300 s (pgrep -x etcd): nothing stopped"
  sleep 3
done

rm -rf "$restored"
in_etcd etcdutl snapshot restore /var/lib/etcd/homelab-restore/snapshot.db --name "$RESTORE_NAME" \
  --initial-cluster "$RESTORE_CLUSTER" --initial-cluster-token "$RESTORE_TOKEN" --initial-advertise-peer-urls "$RESTORE_PEER" \
  --data-dir "$restored" --bump-revision 1000000000 --mark-compacted >&2
[ -f "$restored/member/snap/db" ] || fail "etcdutl snapshot restore left no $restored/member/snap/db: nothing stopped"
echo "$host: etcd data restored beside the live data, as member $RESTORE_NAME of $RESTORE_CLUSTER" >&2
