#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

backup=$(mktemp)
had_file=0
if [ -f /etc/netplan/60-homelab-internal.yaml ]; then cp -p /etc/netplan/60-homelab-internal.yaml "$backup"; had_file=1; fi

apply_links() {
  if ! command -v networkctl >/dev/null 2>&1; then netplan apply; return; fi
  networkctl reload
  if ip link show dev enp3s0 >/dev/null 2>&1; then networkctl reconfigure enp3s0; fi
  if ip link show dev enp3s0.2 >/dev/null 2>&1; then networkctl reconfigure enp3s0.2; fi
}

rollback() {
  echo "$1; restoring the previous network configuration" >&2
  if [ "$had_file" = 1 ]; then install -m 600 "$backup" /etc/netplan/60-homelab-internal.yaml; else rm -f /etc/netplan/60-homelab-internal.yaml; fi
  { netplan generate && apply_links; } || true
  rm -f "$backup"
  exit 1
}

CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
# Managed by homelab (VlanInterface); changes here are overwritten by pulumi up.
network:
  version: 2
  renderer: networkd
  ethernets:
    enp3s0:
      dhcp4: false
      dhcp6: false
  vlans:
    enp3s0.2:
      id: 2
      link: enp3s0
      dhcp4: false
      dhcp6: false
      addresses:
        - 10.0.0.101/24
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/netplan/60-homelab-internal.yaml; then
  install -D -m 600 "$homelab_new" /etc/netplan/60-homelab-internal.yaml
  CHANGED=1
fi
rm -f "$homelab_new"

if [ "$CHANGED" = 0 ] && ip -4 -o addr show dev enp3s0.2 2>/dev/null | grep -F ' 10.0.0.101/24 ' >/dev/null; then
  echo "enp3s0.2 already has 10.0.0.101/24"
  rm -f "$backup"
  exit 0
fi

netplan generate || rollback "netplan rejected /etc/netplan/60-homelab-internal.yaml"
apply_links || rollback "applying /etc/netplan/60-homelab-internal.yaml failed"

# both addresses must hold for three checks in a row: a link that is still settling can flap
stable=0
for _ in $(seq 1 45); do
  if { ip -4 -o addr show dev enp3s0.2 2>/dev/null | grep -F ' 10.0.0.101/24 ' >/dev/null; } && { ip -4 -o addr show | grep -F ' 192.168.10.101/' >/dev/null; }; then
    stable=$((stable + 1))
    if [ "$stable" -ge 3 ]; then break; fi
  else
    stable=0
  fi
  sleep 1
done
ip -4 -o addr show dev enp3s0.2 2>/dev/null | grep -F ' 10.0.0.101/24 ' >/dev/null || rollback "enp3s0.2 did not get 10.0.0.101/24 within 45 s"
ip -4 -o addr show | grep -F ' 192.168.10.101/' >/dev/null || rollback "the management address 192.168.10.101 did not come back within 45 s"
rm -f "$backup"
echo "enp3s0.2 configured with 10.0.0.101/24"
