#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

crm_resource --resource kube-api-vip --locate 2>/dev/null | sed -n 's/.*is running on: *//p' | head -n 1
