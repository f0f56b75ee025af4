#!/usr/bin/env bash
# Storage end to end (npm run test:e2e:storage): the committed lab stack, whole
# chain to Rook Ceph, air-gapped from the lab's mirror. Sets up what it needs,
# cached: packages, engine, lab image, the offline Kubernetes, Calico and Rook
# builds (over an hour the first time on 2 cores, seconds afterwards) and the
# probe image the tests run in pods.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
# Kubernetes, Calico, Rook, then the stand-ins for ceph-csi and the registrar (refused by the module
# proxy), after the Rook build, whose SHA256SUMS they complete
bash offline/build.sh
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh
bash test/e2e/probe-image.sh

say "end-to-end: Rook Ceph on the simulated lab (jest, test/e2e/storage.test.ts, 30+ minutes)"
exec bash scripts/jest-summary.sh e2e-storage -c jest.e2e.config.js test/e2e/storage.test.ts
