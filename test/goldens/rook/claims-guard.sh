#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# nothing to do when the cluster is already gone
if ! command -v kubectl >/dev/null 2>&1 || [ ! -f /etc/kubernetes/admin.conf ]; then
  echo "no cluster on this node; no volumes to look for"
  exit 0
fi
# one missed answer is not a cluster gone: under load, or while the VIP moves, the API can miss one
# (a destroy in the lab skipped arming Rook's disk wipe on a single miss)
answered=no
for attempt in $(seq 6); do
  if kc --request-timeout=10s get --raw /readyz >/dev/null 2>&1; then answered=yes; break; fi
  [ "$attempt" -lt 6 ] && sleep 10
done
if [ "$answered" = no ]; then
  echo "the cluster does not answer (6 tries, 10 s apart); no volumes to look for"
  exit 0
fi

# claims, bound or not, and volumes (a released one can outlive its claim), of these classes only
listed=$(kc --request-timeout=20s get pvc -A -o jsonpath='{range .items[*]}claim {.spec.storageClassName} {.metadata.namespace}/{.metadata.name}{"\n"}{end}')
listed="$listed
$(kc --request-timeout=20s get pv -o jsonpath='{range .items[*]}volume {.spec.storageClassName} {.metadata.name}{"\n"}{end}')"
in_use=$(echo "$listed" | awk -v classes='ceph-block ceph-filesystem' 'BEGIN { n = split(classes, c, " "); for (i = 1; i <= n; i++) ours[c[i]] = 1 } NF == 3 && ($2 in ours) { print $1 " " $3 " (" $2 ")" }')
if [ -z "$in_use" ]; then
  echo "no claim or volume uses ceph-block or ceph-filesystem: Ceph can go"
  exit 0
fi
echo "destroy stopped before touching Ceph: these still use ceph-block or ceph-filesystem:" >&2
echo "$in_use" | sed 's/^/  /' >&2
echo "Their data goes with Ceph. If that is what you want, delete the claims (kubectl delete pvc -n NAMESPACE NAME; their volumes follow) and run the destroy again." >&2
exit 1
