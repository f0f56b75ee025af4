#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

started=$(date +%s)
# /readyz?verbose lists etcd's check: it passes only while etcd has a quorum
until kc --request-timeout=10s get --raw '/readyz?verbose' 2>/dev/null | grep -F '[+]etcd ok' >/dev/null; do
  if [ $(($(date +%s) - started)) -ge 600 ]; then
    echo "the API did not answer through the VIP with etcd healthy within 600 s" >&2
    kc --request-timeout=10s get --raw '/readyz?verbose' >&2 || true
    exit 1
  fi
  sleep 5
done
echo "the API answers through the VIP, etcd has a quorum ($(($(date +%s) - started)) s)"
left=$((600 - ($(date +%s) - started)))
[ "$left" -gt 30 ] || left=30
if ! kc wait --for=condition=Ready nodes --all --timeout="${left}s" >/dev/null; then
  echo "not every node is Ready:" >&2
  kc get nodes >&2 || true
  exit 1
fi
echo "every node is Ready ($(($(date +%s) - started)) s)"
