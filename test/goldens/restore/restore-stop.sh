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

install -d -m 700 /etc/kubernetes/homelab-restore-held
for component in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  if [ -f /etc/kubernetes/manifests/$component.yaml ]; then mv /etc/kubernetes/manifests/$component.yaml /etc/kubernetes/homelab-restore-held/; fi
done
deadline=$(( $(date +%s) + 180 ))
while pgrep -x etcd >/dev/null || pgrep -f '^kube-apiserver( |$)' >/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd or the API server still runs 180 s after their manifests were held in /etc/kubernetes/homelab-restore-held"
  sleep 2
done
echo "$host: API server and etcd stopped" >&2
