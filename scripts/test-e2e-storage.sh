#!/usr/bin/env bash
# The lab suites that run the whole chain to Rook Ceph (the committed lab stack, air-gapped from
# the lab's mirror): npm run test:e2e:storage (storage used for real, a machine's power loss,
# destroy), test:e2e:safety (what could lose data or leak a secret), test:e2e:power (power as a
# routine), test:e2e:nodes (nodes that come and go, on four machines) and test:e2e:upgrade
# (Kubernetes upgraded from the older offline release, which it builds too). Sets up what they need,
# cached: packages, engine, lab image, the offline Kubernetes, Calico and Rook builds (over an
# hour the first time on 2 cores, seconds afterwards) and the probe image the tests run in pods.
#
#   bash scripts/test-e2e-storage.sh [storage|safety|power|nodes|upgrade]    (default storage)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

suite=${1:-storage}
case $suite in
  storage) about="Rook Ceph used for real, a machine's power loss, destroy (30+ minutes)" ;;
  safety) about="what could lose data or leak a secret (about an hour)" ;;
  power) about="power as a routine: off, on, a power cut, a refused shutdown (about an hour and a half)" ;;
  nodes) about="four machines: a node with an OSD taken out of the config, removals refused, a dead node forgotten, a dead control plane replaced (about two hours)" ;;
  upgrade) about="Kubernetes upgraded one node at a time from the older offline release, refusals (about an hour)" ;;
  *) echo "test-e2e-storage.sh: unknown suite $suite (expected storage, safety, power, nodes or upgrade)" >&2; exit 2 ;;
esac

bash scripts/setup.sh --packages --npm --engine --lab
# Kubernetes, Calico, Rook, then the stand-ins for ceph-csi and the registrar (refused by the module
# proxy), after the Rook build, whose SHA256SUMS they complete
bash offline/build.sh
# the release the upgrade suite starts from (its own pins; about 40 minutes the first time)
if [ "$suite" = upgrade ]; then bash offline/build-kubernetes.sh --release "v${HOMELAB_E2E_UPGRADE_FROM:-1.36.3}"; fi
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh
bash test/e2e/probe-image.sh

say "end-to-end on the simulated lab, $suite: $about (jest, test/e2e/$suite.test.ts)"
exec bash scripts/hold-lab.sh "npm run test:e2e:$suite" bash scripts/jest-summary.sh "e2e-$suite" -c jest.e2e.config.js "test/e2e/$suite.test.ts"
