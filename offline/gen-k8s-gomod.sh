#!/usr/bin/env bash
# gen-k8s-gomod.sh vX.Y.Z [DIR] — rewrite offline/k8s/go.mod for another Kubernetes release, and
# print what else a version bump needs (offline/README.md, "Moving to another version").
# DIR: write the wrapper (go.mod, go.sum) there instead, e.g. offline/releases/vX.Y.Z/k8s for a
# second release that build-kubernetes.sh --release vX.Y.Z builds (offline/README.md, "Other releases").
#
# k8s.io/kubernetes's go.mod requires its staging modules at v0.0.0 and replaces them with
# ./staging/src/k8s.io/..., which its module zip lacks; the wrapper replaces each required one with
# its published v0.Y.Z instead, after checking that the proxy serves it. It then prints the
# versions kubeadm of that release pins (etcd, CoreDNS, pause) for offline/versions.env and
# the etcd/coredns wrappers, and whether the kubelet still accepts cgroup v1 (failCgroupV1: false).
set -euo pipefail
KV=${1:?usage: gen-k8s-gomod.sh vX.Y.Z [DIR]}
OFF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTDIR=${2:-$OFF/k8s}
mkdir -p "$OUTDIR"
REGEN="offline/gen-k8s-gomod.sh $KV"
[ $# -lt 2 ] || REGEN+=" ${OUTDIR#"$(dirname "$OFF")/"}"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
export GOCACHE=${OFFLINE_GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/go-build}
SV=v0.${KV#v1.}
DIR=$(go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$DIR" ] || { echo "the proxy does not serve k8s.io/kubernetes@$KV" >&2; exit 1; }

staged=() skipped=()
# shellcheck disable=SC2013 # module paths have no spaces
for m in $(sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$DIR/go.mod"); do
  if grep -q "^	$m v0.0.0$" "$DIR/go.mod"; then
    go mod download -json "$m@$SV" | grep -q '"Zip"' || { echo "the proxy refuses $m@$SV" >&2; exit 1; }
    staged+=("$m")
  else
    skipped+=("$m")
  fi
done
{
  echo "// Wrapper module: builds the Kubernetes binaries of k8s.io/kubernetes $KV from Go modules."
  echo "// k8s.io/kubernetes points its staging modules at ./staging/src/..., which a module zip lacks;"
  echo "// here each one it requires is replaced by its published $SV. (${skipped[*]:-none}:"
  echo "// replaced upstream too, but nothing requires them, so they are left out.)"
  echo "// Regenerate with $REGEN."
  echo "module homelab/offline/k8s"
  echo
  sed -n 's/^go \(.*\)/go \1/p' "$DIR/go.mod"
  echo
  sed -n 's/^godebug \(.*\)/godebug \1/p' "$DIR/go.mod"
  echo
  echo "require k8s.io/kubernetes $KV"
  echo
  echo "tool ("
  echo "	k8s.io/component-base/logs/kube-log-runner"
  for c in kube-apiserver kube-controller-manager kube-proxy kube-scheduler kubeadm kubectl kubelet; do echo "	k8s.io/kubernetes/cmd/$c"; done
  echo ")"
  echo
  echo "replace ("
  for m in "${staged[@]}"; do echo "	$m => $m $SV"; done
  echo ")"
} >"$OUTDIR/go.mod"
rm -f "$OUTDIR/go.sum"
(cd "$OUTDIR" && go mod tidy)
echo "wrote $OUTDIR/go.mod for $KV (${#staged[@]} staging modules at $SV)"

C=$DIR/cmd/kubeadm/app/constants/constants.go
echo "kubeadm $KV pins:"
grep -E '^\s*(DefaultEtcdVersion|CoreDNSVersion|PauseVersion) = ' "$C" | sed 's/^\s*/  /'
echo "cgroup v1 (kubelet $KV):"
grep -n 'FailCgroupV1 && isCgroup1' "$DIR/pkg/kubelet/apis/config/validation/validation_linux.go" \
  && echo "  still runs on cgroup v1 when the kubelet config sets failCgroupV1: false" \
  || echo "  WARNING: the failCgroupV1 escape hatch is gone; check pkg/kubelet/cm for cgroup v1 support"
