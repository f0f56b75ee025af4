#!/usr/bin/env bash
# End-to-end tests (npm run test:e2e): the real engine runs the lab stack on the
# simulated lab. Sets up what it needs (packages, engine, base image), cached.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
# shellcheck source=scripts/engine-env.sh
source scripts/engine-env.sh
results=$(mktemp -d)
status=0
say "end-to-end: pulumi up/destroy on the simulated lab (jest -c jest.e2e.config.js, several minutes)"
npx jest -c jest.e2e.config.js --runInBand --json --outputFile="$results/e2e.json" test/e2e/lab.test.ts || status=1
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`e2e: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
' "$results/e2e.json" || status=1
rm -rf "$results"
exit "$status"
