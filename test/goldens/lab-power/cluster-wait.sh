#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# certificates that expired while the lab was off: the API cannot come back with them
expired=""
for crt in /etc/kubernetes/pki/*.crt /etc/kubernetes/pki/etcd/*.crt; do
  [ -f "$crt" ] || continue
  if ! openssl x509 -checkend 0 -noout -in "$crt" >/dev/null 2>&1; then
    expired="$expired
  $crt expired on $(openssl x509 -enddate -noout -in "$crt" | cut -d= -f2)"
  fi
done
for conf in /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf /etc/kubernetes/kubelet.conf; do
  [ -f "$conf" ] || continue
  data=$(sed -n 's/^ *client-certificate-data: *//p' "$conf" | head -n 1)
  [ -n "$data" ] || continue
  if ! echo "$data" | base64 -d | openssl x509 -checkend 0 -noout >/dev/null 2>&1; then
    expired="$expired
  $conf's client certificate expired on $(echo "$data" | base64 -d | openssl x509 -enddate -noout | cut -d= -f2)"
  fi
done
if [ -n "$expired" ]; then
  echo "on $(hostname), certificates expired while the lab was off:$expired" >&2
  echo "the API cannot answer with them: renew them (sudo kubeadm certs renew all, then restart the control-plane pods) and run pulumi up again" >&2
  exit 1
fi

started=$(date +%s)
deadline=$((started + 600))
# corosync's quorum: every member restarted at once; without a majority Pacemaker places no VIP
until corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "corosync has no quorum 600 s after the power-on, so the VIP cannot be placed:" >&2
    corosync-quorumtool -s >&2 || true
    exit 1
  fi
  sleep 5
done
echo "corosync is quorate ($(($(date +%s) - started)) s)"
# /readyz?verbose lists etcd's check: it passes only while etcd has a quorum (its members came back on their addresses)
until kc --request-timeout=10s get --raw '/readyz?verbose' 2>/dev/null | grep -F '[+]etcd ok' >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "the API did not answer through the VIP with etcd healthy within 600 s" >&2
    kc --request-timeout=10s get --raw '/readyz?verbose' >&2 || true
    # crictl need not be there (an air-gapped install): the processes say whether they run
    pgrep -a -x etcd >&2 || echo "etcd does not run here" >&2
    pgrep -a -f '^kube-apiserver( |$)' | cut -c1-120 >&2 || echo "kube-apiserver does not run here" >&2
    exit 1
  fi
  sleep 5
done
echo "the API answers through the VIP, etcd has a quorum ($(($(date +%s) - started)) s)"
# the pods the kubelets' graceful shutdown ended stay behind as Failed beside their replacements;
# Rook's check for two mons on one node counts them (Rook v1.17.8) and fails a healthy mon over at
# every power-on. A ReplicaSet has replaced its Failed pods already, so these go; a bare pod, a
# Job's (its failures count) or a StatefulSet's (its controller handles them) are left as they are.
leftovers=$(kc get pods --all-namespaces --field-selector status.phase=Failed --no-headers \
  -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind 2>/dev/null |
  awk '$3 == "ReplicaSet" { print $1 "/" $2 }') || true
for pod in $leftovers; do
  if kc -n "${pod%%/*}" delete pod "${pod#*/}" --ignore-not-found --wait=false >/dev/null; then
    echo "deleted $pod: ended by the shutdown, replaced by its ReplicaSet"
  fi
done
left=$((deadline - $(date +%s)))
[ "$left" -gt 30 ] || left=30
if ! kc wait --for=condition=Ready nodes --all --timeout="${left}s" >/dev/null; then
  echo "not every node is Ready:" >&2
  kc get nodes >&2 || true
  exit 1
fi
echo "every node is Ready ($(($(date +%s) - started)) s)"
