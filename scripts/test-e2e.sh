#!/usr/bin/env bash
# End-to-end tests (npm run test:e2e): the real engine runs the lab stack on the
# simulated lab. Sets up what it needs (packages, engine, base image), cached.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh
say "end-to-end: pulumi up/destroy on the simulated lab (jest -c jest.e2e.config.js, several minutes)"
exec bash scripts/hold-lab.sh "npm run test:e2e" bash scripts/jest-summary.sh e2e -c jest.e2e.config.js test/e2e/lab.test.ts
