#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

gate=$(mktemp)
trap 'rm -f "$gate"' EXIT
cat > "$gate" <<'HOMELAB_GATE'
#!/usr/bin/env bash
echo gate >> /run/gate/calls
[ -f /run/gate/ceph-ok ] || { echo "HEALTH_WARN 1 osds down" >&2; exit 1; }
echo HEALTH_OK
HOMELAB_GATE
gates() {
  local not_ready
  not_ready=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$2 != "True" { printf "%s ", $1 }')
  if [ -n "$not_ready" ]; then
    echo "not Ready $1: $not_ready; the upgrade goes on once every node is Ready" >&2
    return 1
  fi
  if ! bash "$gate"; then
    echo "Ceph is not healthy $1: the upgrade stops here, and the next up goes on from this node" >&2
    return 1
  fi
}

node=lab-2
kubelet_version=$(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
upgrading=$(kc get node "$node" -o jsonpath='{.metadata.annotations.homelab\.dev/upgrading-to}')

want=v1.38.0
if [ -z "$upgrading" ]; then
  echo "$node (kubelet $kubelet_version) is not being upgraded: nothing to release"
  exit 0
fi
waited=0
until [ "$(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "$want True" ]; do
  if [ "$waited" -ge 300 ]; then
    echo "$node is not Ready at $want after 300 s: $(kc get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion} Ready={.status.conditions[?(@.type=="Ready")].status}' 2>&1)" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
case "$upgrading" in
  *" cordoned-before") echo "$node stays cordoned, as it was before its upgrade" ;;
  *) kc uncordon "$node" >/dev/null; echo "$node uncordoned" ;;
esac

gates "after $node's upgrade" || exit 1

kc annotate node "$node" "homelab.dev/upgrading-to-" >/dev/null
echo "$node runs Kubernetes $want"
