#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

# Calico moves in place from the two previous minor releases only, and never back
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | tail -n 1)" = "${1#v}" ]; }
running=$(kc get daemonset -A -l k8s-app=calico-node -o jsonpath='{.items[0].spec.template.spec.containers[?(@.name=="calico-node")].image}' 2>/dev/null || true)
running=${running##*:}
running=${running#v}
if [ -n "$running" ] && [ "$running" != 3.31.0 ]; then
  if newer "$running" 3.31.0; then
    echo "calico.version 3.31.0 is older than the running Calico $running; Calico cannot be downgraded: set calico.version to $running or later" >&2
    exit 1
  fi
  IFS=. read -r running_major running_minor _ <<<"$running"
  IFS=. read -r want_major want_minor _ <<<3.31.0
  if [ "$running_major" != "$want_major" ] || [ $((want_minor - running_minor)) -gt 2 ]; then
    echo "calico.version 3.31.0 is more than 2 minor releases above the running Calico $running; Calico upgrades from the 2 previous minor releases only: set calico.version to $running_major.$((running_minor + 2)).x or earlier first" >&2
    exit 1
  fi
  echo "upgrading Calico from $running to 3.31.0"
fi

# Calico 3.31.0 from the calico-vxlan.yaml Pulumi copied (sha256 000000000000)
dir=/etc/homelab/manifests/calico-manifest
install -d -m 755 "$dir"

if [ -f /tmp/homelab-calico-calico-vxlan.yaml ]; then
  install -m 644 /tmp/homelab-calico-calico-vxlan.yaml /etc/homelab/manifests/calico-manifest/calico-vxlan.yaml
  rm -f /tmp/homelab-calico-calico-vxlan.yaml
fi
# the copy is checked, so a stale or tampered file is never applied
echo '0000000000000000000000000000000000000000000000000000000000000000  /etc/homelab/manifests/calico-manifest/calico-vxlan.yaml' | sha256sum -c --quiet - \
  || { echo "calico-vxlan.yaml on this node is not the file Pulumi copied (sha256 mismatch)" >&2; exit 1; }

# the manifest must be the pinned release: its images are the ones the nodes have
if ! grep -F calico/node:v3.31.0 "$dir/calico-vxlan.yaml" >/dev/null; then
  echo 'the calico-vxlan.yaml Pulumi copied (sha256 000000000000) is not Calico 3.31.0: it names no calico/node:v3.31.0 image; set calico.version to the release it holds' >&2
  exit 1
fi

CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
# Calico 3.31.0: the upstream calico-vxlan.yaml with this lab's settings (kubectl apply -k)
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - calico-vxlan.yaml
patches:
  - patch: |
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: calico-config
        namespace: kube-system
      data:
        calico_backend: vxlan
        veth_mtu: "0"
  - patch: |
      apiVersion: apps/v1
      kind: DaemonSet
      metadata:
        name: calico-node
        namespace: kube-system
      spec:
        template:
          spec:
            containers:
              - name: calico-node
                env:
                  - name: CALICO_IPV4POOL_CIDR
                    value: 172.16.0.0/16
                  - name: CALICO_IPV4POOL_BLOCK_SIZE
                    value: "26"
                  - name: CALICO_IPV4POOL_VXLAN
                    value: Always
                  - name: CALICO_IPV4POOL_IPIP
                    value: Never
                  - name: CALICO_IPV4POOL_NAT_OUTGOING
                    value: "true"
                  - name: IP_AUTODETECTION_METHOD
                    value: cidr=10.0.0.0/24
                  - name: FELIX_XDPENABLED
                    value: "false"
                  - name: FELIX_DebugSkipCTLBCleanup
                    value: "true"
                  - name: FELIX_WIREGUARDENABLED
                    value: "false"
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/homelab/manifests/calico-manifest/kustomization.yaml; then
  install -D -m 644 "$homelab_new" /etc/homelab/manifests/calico-manifest/kustomization.yaml
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then echo "wrote $dir/kustomization.yaml"; fi

# server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply
retry 5 10 kc apply --server-side --force-conflicts -k "$dir" >/dev/null
echo "Calico 3.31.0 applied from calico-vxlan.yaml (VXLAN, pods in 172.16.0.0/16)"
