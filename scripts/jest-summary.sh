#!/usr/bin/env bash
# jest-summary.sh LABEL JEST_ARGS...: runs jest in band with the given arguments and closes
# with one line `LABEL: N passed, N failed` (suites that failed to run count as failed);
# exits non-zero when anything failed.
set -euo pipefail
label=$1; shift
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
npx jest --runInBand --json --outputFile="$results/jest.json" "$@" || status=1
# shellcheck disable=SC2016 # JavaScript's own ${...}
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
' "$results/jest.json" "$label" || status=1
exit "$status"
