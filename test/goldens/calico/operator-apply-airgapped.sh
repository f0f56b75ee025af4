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

# calico 3.30.3: skip when the operator already runs this very bundle
current=$(kc -n tigera-operator get deployment tigera-operator -o go-template='{{index .metadata.annotations "homelab/bundle"}}' 2>/dev/null || true)
if [ "$current" = 3.30.3-7d20b47636b4ae90 ]; then
  echo "calico operator bundle 3.30.3-7d20b47636b4ae90 is already applied"
else
  # Calico moves in place from the two previous minor releases only, and never back
  newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | tail -n 1)" = "${1#v}" ]; }
  running=$(kc get daemonset -A -l k8s-app=calico-node -o jsonpath='{.items[0].spec.template.spec.containers[?(@.name=="calico-node")].image}' 2>/dev/null || true)
  running=${running##*:}
  running=${running#v}
  if [ -n "$running" ] && [ "$running" != 3.30.3 ]; then
    if newer "$running" 3.30.3; then
      echo "calico.version 3.30.3 is older than the running Calico $running; Calico cannot be downgraded: set calico.version to $running or later" >&2
      exit 1
    fi
    IFS=. read -r running_major running_minor _ <<<"$running"
    IFS=. read -r want_major want_minor _ <<<3.30.3
    if [ "$running_major" != "$want_major" ] || [ $((want_minor - running_minor)) -gt 2 ]; then
      echo "calico.version 3.30.3 is more than 2 minor releases above the running Calico $running; Calico upgrades from the 2 previous minor releases only: set calico.version to $running_major.$((running_minor + 2)).x or earlier first" >&2
      exit 1
    fi
    echo "upgrading Calico from $running to 3.30.3"
  fi
  install -d -m 755 /etc/homelab/manifests/calico
  if [ -f /tmp/homelab-calico-tigera-operator.yaml ]; then
    install -m 644 /tmp/homelab-calico-tigera-operator.yaml /etc/homelab/manifests/calico/tigera-operator.yaml
    rm -f /tmp/homelab-calico-tigera-operator.yaml
  fi
  # the copy is checked, so a stale or tampered file is never applied
  echo '4f8b094eb2f3e394914287aba0036be8af26a2550b15fc436d249f6d20d46584  /etc/homelab/manifests/calico/tigera-operator.yaml' | sha256sum -c --quiet - \
    || { echo "tigera-operator.yaml on this node is not the file Pulumi copied (sha256 mismatch)" >&2; exit 1; }
  # server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply
  retry 5 10 kc apply --server-side --force-conflicts -f /etc/homelab/manifests/calico/tigera-operator.yaml
  # custom resources of the bundle's kinds are refused until their CRDs are established
  retry 3 10 kc wait --for=condition=Established crd --all --timeout=120s >/dev/null
  retry 3 10 kc -n tigera-operator rollout status deployment/tigera-operator --timeout=300s
  kc -n tigera-operator annotate deployment tigera-operator homelab/bundle=3.30.3-7d20b47636b4ae90 --overwrite >/dev/null
  echo "calico operator bundle 3.30.3-7d20b47636b4ae90 applied"
fi
