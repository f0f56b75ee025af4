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

deadline=$(( $(date +%s) + 600 ))
until pgrep -x etcd >/dev/null && etcdctl_ endpoint health >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd does not answer healthy 600 s after the restore"
  sleep 3
done
status=$(etcdctl_ endpoint status --write-out=json)
cluster_id=$(echo "$status" | sed -n 's/.*"cluster_id":\([0-9]*\).*/\1/p')
revision=$(echo "$status" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
members=$(etcdctl_ member list | cut -d, -f3 | tr -d ' ' | sort | paste -sd, -)
until kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw=/readyz >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the API does not answer ready through $(sed -n 's/^ *server: //p' /etc/kubernetes/admin.conf) 600 s after the restore"
  sleep 3
done
rm -rf /var/lib/etcd/homelab-restore/data /var/lib/etcd/homelab-restore/snapshot.db
echo "etcd $cluster_id $members $revision"
