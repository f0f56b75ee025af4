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

if [ -d /etc/kubernetes/homelab-restore-held ]; then
  for component in etcd kube-scheduler kube-controller-manager kube-apiserver; do
    if [ -f /etc/kubernetes/homelab-restore-held/$component.yaml ]; then mv /etc/kubernetes/homelab-restore-held/$component.yaml /etc/kubernetes/manifests/; fi
  done
fi
rm -rf /var/lib/etcd/homelab-restore/data /var/lib/etcd/homelab-restore/snapshot.db
echo "$host: left as it was (its own etcd data, its control plane running)" >&2
