#!/usr/bin/env bash
# Power end to end (npm run test:e2e:power): the committed lab stack, whole chain to Rook Ceph,
# air-gapped from the lab's mirror, then power as a routine: power off in a safe order, an up
# while off, power on to HEALTH_OK, a power cut healed by one up, a refused shutdown, destroy.
# Sets up what it needs, cached, like the storage suite.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
bash offline/build.sh
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh
bash test/e2e/probe-image.sh

say "end-to-end: power on the simulated lab (jest, test/e2e/power.test.ts, about an hour and a half)"
exec bash scripts/jest-summary.sh e2e-power -c jest.e2e.config.js test/e2e/power.test.ts
