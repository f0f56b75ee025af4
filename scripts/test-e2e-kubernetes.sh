#!/usr/bin/env bash
# Kubernetes end to end (npm run test:e2e:kubernetes): the lab stack with the
# Kubernetes and Calico stages, air-gapped from the lab's mirror. Sets up what it
# needs, cached: packages, engine, lab image, the offline Kubernetes and Calico
# builds (~50 min the first time on 2 cores, seconds afterwards) and a small
# probe image (busybox) the tests run on every node.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
bash offline/build.sh kubernetes calico
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh

bash test/e2e/probe-image.sh

say "end-to-end: Kubernetes and Calico on the simulated lab (jest, test/e2e/kubernetes.test.ts, 15+ minutes)"
exec bash scripts/hold-lab.sh "npm run test:e2e:kubernetes" bash scripts/jest-summary.sh e2e-kubernetes -c jest.e2e.config.js test/e2e/kubernetes.test.ts
