#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

echo "wipeDisksOnDestroy was off at the last up: the OSD disks and /var/lib/rook on home-server-1 keep Ceph's data; nothing was wiped"
