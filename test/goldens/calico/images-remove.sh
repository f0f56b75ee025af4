#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

if ! command -v ctr >/dev/null 2>&1; then
  echo "no containerd on home-server-1; no Calico images to remove"
  exit 0
fi
for image in quay.io/calico/cni:v3.31.0 quay.io/calico/node:v3.31.0 quay.io/calico/kube-controllers:v3.31.0; do
  ctr -n k8s.io images rm "$image" >/dev/null 2>&1 || true
done
rm -f /var/lib/homelab/images/calico-*.sha256
echo "Calico 3.31.0 images removed from home-server-1"
