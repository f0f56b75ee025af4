#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

misses=0
while true; do
  if curl -ksf --max-time 5 https://127.0.0.1:6443/readyz >/dev/null 2>&1; then
    misses=0
    attrd_updater -n homelab-api-healthy -U 1 -d 2s || true
  else
    misses=$((misses + 1))
    if [ "$misses" -ge 3 ]; then attrd_updater -n homelab-api-healthy -U 0 -d 2s || true; fi
  fi
  sleep 3
done
