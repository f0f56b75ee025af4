#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

# the admin kubeconfig, pointing at the VIP so it outlives any one node
if [ ! -f /etc/kubernetes/admin.conf ]; then
  echo "/etc/kubernetes/admin.conf does not exist: the cluster is not initialised" >&2
  exit 1
fi
if ! grep -Eq '^[[:space:]]*server: https://10\.0\.0\.100:6443$' /etc/kubernetes/admin.conf; then
  echo "/etc/kubernetes/admin.conf does not point at https://10.0.0.100:6443; was the cluster initialised with another controlPlaneEndpoint?" >&2
  exit 1
fi
cat /etc/kubernetes/admin.conf
