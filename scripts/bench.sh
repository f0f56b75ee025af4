#!/usr/bin/env bash
# Benchmarks (npm run bench): engine build and lab figures, printed, never asserted.
#   npm run bench            both
#   npm run bench -- engine  engine build times only
#   npm run bench -- lab     lab timings only
#   npm run bench -- etcd    etcd snapshot and restore as etcd grows (real etcd on loopback, no lab)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
what=${1:-all}
if [ "$what" = all ] || [ "$what" = engine ]; then bash engine/bench.sh; fi
if [ "$what" = all ] || [ "$what" = etcd ]; then
  bash scripts/setup.sh --npm
  bash offline/build.sh kubernetes
  npx jest -c jest.bench.config.js --runInBand --silent=false test/bench/etcd.bench.ts
fi
if [ "$what" = all ] || [ "$what" = lab ]; then
  bash scripts/setup.sh --packages --npm --engine --lab
  # shellcheck source-path=SCRIPTDIR source=../engine/env.sh
  source engine/env.sh
  npx jest -c jest.bench.config.js --runInBand --silent=false test/bench/lab.bench.ts
fi
