#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

echo "wipeDisksOnDestroy was off at the last up: Rook was not asked to wipe the disks, so there are no cleanup jobs to wait for"
