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
if [ "$current" = 1.17.8-0639db029bc17158 ]; then
  echo "rook operator bundle 1.17.8-0639db029bc17158 is already applied"
else
  install -d -m 755 /etc/homelab/manifests/rook
  if [ -f /tmp/homelab-rook-crds.yaml ]; then
    install -m 644 /tmp/homelab-rook-crds.yaml /etc/homelab/manifests/rook/crds.yaml
    rm -f /tmp/homelab-rook-crds.yaml
  fi
  # the copy is checked, so a stale or tampered file is never applied
  echo '74ce95e2fe6f38b08d072c24f9aada0274ecd4d4925628d168996e21971d4e5b  /etc/homelab/manifests/rook/crds.yaml' | sha256sum -c --quiet - \
    || { echo "crds.yaml on this node is not the file Pulumi copied (sha256 mismatch)" >&2; exit 1; }
  if [ -f /tmp/homelab-rook-common.yaml ]; then
    install -m 644 /tmp/homelab-rook-common.yaml /etc/homelab/manifests/rook/common.yaml
    rm -f /tmp/homelab-rook-common.yaml
  fi
  # the copy is checked, so a stale or tampered file is never applied
  echo 'd8fded8ec2ac5cfb2a3ec978aa0fdd46cdde30eb5e4503462fbd671377075534  /etc/homelab/manifests/rook/common.yaml' | sha256sum -c --quiet - \
    || { echo "common.yaml on this node is not the file Pulumi copied (sha256 mismatch)" >&2; exit 1; }
  if [ -f /tmp/homelab-rook-operator.yaml ]; then
    install -m 644 /tmp/homelab-rook-operator.yaml /etc/homelab/manifests/rook/operator.yaml
    rm -f /tmp/homelab-rook-operator.yaml
  fi
  # the copy is checked, so a stale or tampered file is never applied
  echo '1db5719eefb3366a12da1c9032ef066b0e2c5ca0a4325db0e715fb9647af9012  /etc/homelab/manifests/rook/operator.yaml' | sha256sum -c --quiet - \
    || { echo "operator.yaml on this node is not the file Pulumi copied (sha256 mismatch)" >&2; exit 1; }
  # server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/rook/crds.yaml
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/rook/common.yaml
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/rook/operator.yaml
  # custom resources of the bundle's kinds are refused until their CRDs are established
  retry 3 10 kc wait --for=condition=Established crd --all --timeout=120s >/dev/null
  retry 3 10 kc -n rook-ceph rollout status deployment/rook-ceph-operator --timeout=300s
  kc -n rook-ceph annotate deployment rook-ceph-operator homelab/bundle=1.17.8-0639db029bc17158 --overwrite >/dev/null
  echo "rook operator bundle 1.17.8-0639db029bc17158 applied"
fi

# operator settings this program owns; an apply of the bundle resets them, so set them after every apply
kc -n rook-ceph patch configmap rook-ceph-operator-config --type merge -p '{"data":{"ROOK_CEPH_ALLOW_LOOP_DEVICES":"false","ROOK_USE_CSI_OPERATOR":"false","CSI_FORCE_CEPHFS_KERNEL_CLIENT":"true","CSI_ENABLE_RBD_SNAPSHOTTER":"false","CSI_ENABLE_CEPHFS_SNAPSHOTTER":"false","ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS":"15"}}' >/dev/null
echo "rook operator settings: ROOK_CEPH_ALLOW_LOOP_DEVICES=false ROOK_USE_CSI_OPERATOR=false CSI_FORCE_CEPHFS_KERNEL_CLIENT=true CSI_ENABLE_RBD_SNAPSHOTTER=false CSI_ENABLE_CEPHFS_SNAPSHOTTER=false ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS=15"
