#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

apply_links() {
  if ! command -v networkctl >/dev/null 2>&1; then netplan apply; return; fi
  networkctl reload
  if ip link show dev enp3s0 >/dev/null 2>&1; then networkctl reconfigure enp3s0; fi
  if ip link show dev enp3s0.2 >/dev/null 2>&1; then networkctl reconfigure enp3s0.2; fi
}

if [ ! -f /etc/netplan/60-homelab-internal.yaml ]; then
  echo "/etc/netplan/60-homelab-internal.yaml is already gone"
else
  rm -f /etc/netplan/60-homelab-internal.yaml
  netplan generate
  apply_links
fi
if ip link show dev enp3s0.2 >/dev/null 2>&1; then ip link delete dev enp3s0.2; fi
echo "internal network removed from enp3s0.2"
