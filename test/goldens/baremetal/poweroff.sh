#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

# power off once this session has ended (the seed's poweroff.yml)
if systemctl is-system-running 2>/dev/null | grep stopping >/dev/null; then
  echo "home-server-1 is already shutting down"
  exit 0
fi
if ! systemd-run --quiet --no-block --on-active=2 --unit=homelab-poweroff shutdown -P now 2>/dev/null; then
  nohup sh -c 'sleep 2; shutdown -P now' >/dev/null 2>&1 &
fi
echo "home-server-1 powers off in 2 s"
