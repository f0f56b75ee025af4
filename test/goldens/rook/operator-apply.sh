#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# rook 1.17.8: skip when the operator already runs this very bundle
current=$(kc -n rook-ceph get deployment rook-ceph-operator -o go-template='{{index .metadata.annotations "homelab/bundle"}}' 2>/dev/null || true)
if [ "$current" = 1.17.8-df7d0570de16232f ]; then
  echo "rook operator bundle 1.17.8-df7d0570de16232f is already applied"
else
  install -d -m 755 /etc/homelab/manifests/rook
  retry 5 10 curl -fsSL --connect-timeout 20 -o /etc/homelab/manifests/rook/crds.yaml.part https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/crds.yaml
  mv /etc/homelab/manifests/rook/crds.yaml.part /etc/homelab/manifests/rook/crds.yaml
  retry 5 10 curl -fsSL --connect-timeout 20 -o /etc/homelab/manifests/rook/common.yaml.part https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/common.yaml
  mv /etc/homelab/manifests/rook/common.yaml.part /etc/homelab/manifests/rook/common.yaml
  retry 5 10 curl -fsSL --connect-timeout 20 -o /etc/homelab/manifests/rook/operator.yaml.part https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/operator.yaml
  mv /etc/homelab/manifests/rook/operator.yaml.part /etc/homelab/manifests/rook/operator.yaml
  # server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/rook/crds.yaml
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/rook/common.yaml
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/rook/operator.yaml
  # custom resources of the bundle's kinds are refused until their CRDs are established
  retry 3 10 kc wait --for=condition=Established crd --all --timeout=120s >/dev/null
  retry 3 10 kc -n rook-ceph rollout status deployment/rook-ceph-operator --timeout=300s
  kc -n rook-ceph annotate deployment rook-ceph-operator homelab/bundle=1.17.8-df7d0570de16232f --overwrite >/dev/null
  echo "rook operator bundle 1.17.8-df7d0570de16232f applied"
fi

# operator settings this program owns; an apply of the bundle resets them, so set them after every apply
kc -n rook-ceph patch configmap rook-ceph-operator-config --type merge -p '{"data":{"ROOK_CEPH_ALLOW_LOOP_DEVICES":"false","ROOK_USE_CSI_OPERATOR":"false","CSI_FORCE_CEPHFS_KERNEL_CLIENT":"true","CSI_ENABLE_RBD_SNAPSHOTTER":"false","CSI_ENABLE_CEPHFS_SNAPSHOTTER":"false","ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS":"15"}}' >/dev/null
echo "rook operator settings: ROOK_CEPH_ALLOW_LOOP_DEVICES=false ROOK_USE_CSI_OPERATOR=false CSI_FORCE_CEPHFS_KERNEL_CLIENT=true CSI_ENABLE_RBD_SNAPSHOTTER=false CSI_ENABLE_CEPHFS_SNAPSHOTTER=false ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS=15"
