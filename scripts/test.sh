#!/usr/bin/env bash
# The README's test command (npm test): sets up what it needs (cached), then
# type-checks, runs the unit, golden and real-tool tests, and a real offline
# `pulumi preview` of the home stack with the engine built from Go modules.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh

say "type-checking (tsc --noEmit)"
npx tsc --noEmit -p .

results=$(mktemp -d)
status=0
say "unit, golden and real-tool tests (jest)"
npx jest --json --outputFile="$results/unit.json" || status=1
say "integration: real pulumi preview, offline (jest -c jest.integration.config.js)"
npx jest -c jest.integration.config.js --json --outputFile="$results/integration.json" || status=1
say "homelab's command and random providers: go test (engine/pulumi-resource-command, engine/pulumi-resource-random)"
# shellcheck source-path=SCRIPTDIR source=../engine/go-env.sh
for provider in command random; do
  (source engine/go-env.sh && cd "engine/pulumi-resource-$provider" &&
    "$GO" test -mod=mod -trimpath -count=1 -json . >>"$results/go.json") || status=1
done

# shellcheck disable=SC2016 # JavaScript's own ${...}
node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
const [goFile, ...jestFiles] = process.argv.slice(1);
const goEvents = fs.existsSync(goFile) ? fs.readFileSync(goFile, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)) : [];
// each package must report its own pass: a provider whose tests did not build counts as a failure
for (const pkg of ["pulumi-resource-command", "pulumi-resource-random"]) {
  if (!goEvents.some((e) => e.Action === "pass" && !e.Test && String(e.Package).endsWith(pkg))) failed++;
}
for (const e of goEvents.filter((e) => e.Test)) {
  if (e.Action === "pass") passed++; else if (e.Action === "fail") failed++; else if (e.Action === "skip") skipped++;
}
for (const file of jestFiles) {
  if (!fs.existsSync(file)) { failed++; continue; }
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; skipped += r.numPendingTests;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$results/go.json" "$results/unit.json" "$results/integration.json"
rm -rf "$results"
exit "$status"
