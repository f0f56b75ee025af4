#!/usr/bin/env bash
# The README's first command (npm run demo): the whole program on the simulated
# lab. Sets up what is missing (packages, engine, base image, the offline
# Kubernetes and Calico builds: ~50 min the first time on 2 cores, cached), starts
# the lab's networks, mirror and power controller with every machine off, then
# `pulumi up --stack lab`.
# A second run on a converged lab reports no changes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
say "offline Kubernetes and Calico for the air-gapped lab (built once from Go modules and Debian packages)"
bash scripts/build-offline.sh
bash scripts/build-offline-calico.sh
# shellcheck source=scripts/engine-env.sh
source scripts/engine-env.sh

say "starting the simulated lab (machines stay powered off until Wake-on-LAN)"
lab/lab up

say "pulumi stack lab (local backend .pulumi-state, passphrase from PULUMI_CONFIG_PASSPHRASE)"
pulumi stack select lab --create >/dev/null
say "pulumi up --stack lab: wake, prepare, internal network, Pacemaker VIP, kubeadm HA, Calico (15+ min)"
pulumi up --stack lab --yes --skip-preview --suppress-progress

say "stack outputs"
pulumi stack output --stack lab
vip=$(pulumi stack output vip --stack lab)
pulumi stack output kubeconfig --stack lab --show-secrets > .lab/kubeconfig
chmod 600 .lab/kubeconfig
kubectl_bin=${HOMELAB_OFFLINE_CACHE:-$HOME/.cache/homelab/offline}/kubernetes-v1.37.2/bin/kubectl
cat <<TXT

The lab is up. Try:
  $kubectl_bin --kubeconfig .lab/kubeconfig get nodes -o wide   # the API through the VIP
  ping -c 3 $vip                                   # the Pacemaker VIP on the internal network
  ssh -i .lab/ssh/id_ed25519 homeuser@$vip sudo crm_mon -1   # the cluster, through the VIP
  lab/lab status                                   # which machines are on
  lab/lab power-off <node>                         # pull the plug: the VIP moves
  npm run demo                                     # again: no changes
  source scripts/engine-env.sh && pulumi destroy --stack lab --yes && lab/lab down
TXT
