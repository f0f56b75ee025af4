#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

if [ ! -f /etc/netplan/60-homelab-internal.yaml ]; then
  echo "/etc/netplan/60-homelab-internal.yaml is already gone"
else
  rm -f /etc/netplan/60-homelab-internal.yaml
  netplan apply
fi
if ip link show dev enp3s0.2 >/dev/null 2>&1; then ip link delete dev enp3s0.2; fi
echo "internal network removed from enp3s0.2"
