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

# the tigerastatus object appears only once the operator has reconciled the Installation
echo "waiting for the tigera operator to report on Calico 3.30.3"
retry 60 10 kc get tigerastatus calico >/dev/null 2>&1
retry 3 10 kc wait --for=condition=Available tigerastatus/calico --timeout=600s

# nodes turn Ready once the CNI works on them
retry 3 10 kc wait --for=condition=Ready nodes --all --timeout=300s
echo "Calico 3.30.3 is available (IPIP) and every node is Ready"
