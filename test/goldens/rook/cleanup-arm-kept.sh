#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

echo "wipeDisksOnDestroy was off at the last up: the cleanup policy is not set, and deleting the CephCluster leaves the data on the OSD disks"
