#!/usr/bin/env bash
# The tagged VLAN proof (npm run test:vlan): two QEMU machines with Debian's
# kernel run the VlanInterface apply script for VLAN 2 and ping across it; the
# frames on the host bridge must carry the 802.1Q tag. Sets up what it needs
# (packages, npm, the guest image), cached.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --npm --vlan
results=$(mktemp -d)
status=0
say "VLAN proof: two QEMU machines under software emulation (a few minutes)"
npx jest -c jest.vlan.config.js --runInBand --json --outputFile="$results/vlan.json" || status=1
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`vlan: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
' "$results/vlan.json" || status=1
rm -rf "$results"
exit "$status"
