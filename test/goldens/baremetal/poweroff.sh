#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

# power off once this session has ended (the seed's poweroff.yml)
if systemctl is-system-running 2>/dev/null | grep stopping >/dev/null; then
  echo "home-server-1 is already shutting down"
  exit 0
fi
# a unit name of its own each time: one left from an earlier request in this boot would refuse the name
if ! systemd-run --quiet --no-block --on-active=2 --unit="homelab-poweroff-$(date +%s%N)" shutdown -P now; then
  # no systemd to hand it to: out of this session, which ends before the 2 s are over
  setsid nohup sh -c 'sleep 2; shutdown -P now' >/dev/null 2>&1 < /dev/null &
fi
echo "home-server-1 powers off in 2 s"
