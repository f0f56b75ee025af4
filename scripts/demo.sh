#!/usr/bin/env bash
# The README's first command (npm run demo): the whole program on the simulated
# lab. Sets up what is missing (packages, engine, base image, the offline
# Kubernetes, Calico and Rook Ceph builds: over an hour the first time on 2 cores, cached), starts
# the lab's networks, mirror and power controller with every machine off, then
# `pulumi up --stack lab`.
# A second run on a converged lab reports no changes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }
# the lab is one per machine: the demo holds it, so a lab suite started meanwhile waits (hold-lab.sh)
if [ -z "${HOMELAB_LAB_HELD:-}" ]; then exec bash scripts/hold-lab.sh "npm run demo" bash "$0" "$@"; fi

bash scripts/setup.sh --packages --npm --engine --lab
say "offline Kubernetes, Calico and Rook Ceph for the air-gapped lab (built once from Go modules and Debian packages)"
# Kubernetes, Calico, Rook, then the stand-ins for ceph-csi and the registrar (refused by the module
# proxy), after the Rook build, whose SHA256SUMS they complete
bash offline/build.sh
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh

say "starting the simulated lab (machines stay powered off until Wake-on-LAN)"
lab/lab up

say "pulumi stack lab (local backend .pulumi-state, passphrase from PULUMI_CONFIG_PASSPHRASE)"
pulumi stack select lab --create >/dev/null
say "pulumi up --stack lab: wake, prepare, internal network, Pacemaker VIP, kubeadm HA, Calico, Rook Ceph (20+ min)"
pulumi up --stack lab --yes --skip-preview --suppress-progress

say "stack outputs"
pulumi stack output --stack lab
vip=$(pulumi stack output vip --stack lab)
pulumi stack output kubeconfig --stack lab --show-secrets > .lab/kubeconfig
chmod 600 .lab/kubeconfig
kubectl_bin=${HOMELAB_OFFLINE_CACHE:-$HOME/.cache/homelab/offline}/kubernetes-v1.37.2/bin/kubectl
classes=$(pulumi stack output storageClasses --stack lab --json)
block=$(node -e 'console.log(JSON.parse(process.argv[1]).block)' "$classes")
filesystem=$(node -e 'console.log(JSON.parse(process.argv[1]).filesystem)' "$classes")
k="$kubectl_bin --kubeconfig .lab/kubeconfig"
cat <<TXT

The lab is up, with storage. Try:
  $k get nodes -o wide   # the API through the VIP
  $k get storageclass    # $block (RBD block) and $filesystem (CephFS, shared by many pods)
  $k -n rook-ceph get cephcluster   # Ceph's health as Rook reports it
  $k -n rook-ceph exec deploy/rook-ceph-operator -- ceph -c /var/lib/rook/rook-ceph/rook-ceph.config -k /var/lib/rook/rook-ceph/client.admin.keyring status
  # a claim any pod can mount (ReadWriteMany on CephFS; in this lab through ceph-fuse):
  echo '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"shared-data"},"spec":{"accessModes":["ReadWriteMany"],"storageClassName":"$filesystem","resources":{"requests":{"storage":"1Gi"}}}}' | $k apply -f -
  ping -c 3 $vip                                   # the Pacemaker VIP on the internal network
  lab/lab status                                   # which machines are on, and their memory
  lab/lab power-off <node> --hard                  # pull the plug: the VIP moves, Ceph degrades and heals
  source engine/env.sh && pulumi config set homelab:power off --stack lab && pulumi up --stack lab --yes   # switch the lab off, safely
  pulumi config set homelab:power on --stack lab && pulumi up --stack lab --yes    # and on again (or after a power cut: plain pulumi up)
  npm run demo                                     # again: no changes
  # destroy: Ceph's resources are protected until you say so, and claims must go first
  $k delete pvc --all -A; source engine/env.sh && pulumi config set --path homelab:storage.protect false --stack lab && pulumi up --stack lab --yes && pulumi destroy --stack lab --yes && lab/lab down
TXT
