#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

if command -v crm_resource >/dev/null 2>&1 && crm_resource --resource kube-api-vip --query-xml >/dev/null 2>&1; then
  pcs resource delete kube-api-vip --force
  echo "kube-api-vip removed"
else
  echo "kube-api-vip is already gone"
fi
