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

# rollout ROLLOUT SECONDS SELECTOR: wait, and show the pods when it does not finish in time
rollout() {
  if ! retry 2 10 kc -n kube-system rollout status "$1" --timeout="$2s"; then
    echo "$1 in kube-system did not finish rolling out (tried twice, $2s each); its pods:" >&2
    kc -n kube-system get pods -l "$3" -o wide >&2 || true
    exit 1
  fi
}
echo "waiting for Calico 3.31.0 (calico-vxlan.yaml) to roll out"
rollout daemonset/calico-node 600 k8s-app=calico-node
rollout deployment/calico-kube-controllers 300 k8s-app=calico-kube-controllers

# calico-node creates the default pool once, when there is none, and never changes it
pool=$(retry 6 10 kc get ippools.crd.projectcalico.org default-ipv4-ippool -o go-template='{{.spec.cidr}} {{.spec.blockSize}} {{.spec.vxlanMode}} {{if .spec.natOutgoing}}true{{else}}false{{end}}')
want='172.16.0.0/16 26 Always true'
if [ "$pool" != "$want" ]; then
  echo "IP pool default-ipv4-ippool has cidr, blockSize, vxlanMode, natOutgoing = $pool, but the config asks for $want;" >&2
  echo "Calico does not change an existing pool: edit it (kubectl edit ippools.crd.projectcalico.org default-ipv4-ippool) or set the config back" >&2
  exit 1
fi

# nodes turn Ready once the CNI works on them
retry 3 10 kc wait --for=condition=Ready nodes --all --timeout=300s
echo "Calico 3.31.0 is available (VXLAN) and every node is Ready"
