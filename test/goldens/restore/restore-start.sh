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

[ -d /var/lib/etcd/homelab-restore/data/member ] || fail "no restored data in /var/lib/etcd/homelab-restore/data/member; the manifests stay held in /etc/kubernetes/homelab-restore-held"
rm -rf /var/lib/etcd/homelab-restore/previous-data
if [ -d /var/lib/etcd/member ]; then mv /var/lib/etcd/member /var/lib/etcd/homelab-restore/previous-data; fi
mv /var/lib/etcd/homelab-restore/data/member /var/lib/etcd/member
echo "$host: etcd data swapped for the snapshot's (the data before kept in /var/lib/etcd/homelab-restore/previous-data)" >&2
for component in etcd kube-scheduler kube-controller-manager kube-apiserver; do
  if [ -f /etc/kubernetes/homelab-restore-held/$component.yaml ]; then mv /etc/kubernetes/homelab-restore-held/$component.yaml /etc/kubernetes/manifests/; fi
done
systemctl restart kubelet
echo "$host: etcd, the API server and the kubelet started again" >&2
