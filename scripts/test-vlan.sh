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
say "VLAN proof: two QEMU machines under software emulation (a few minutes)"
exec bash scripts/jest-summary.sh vlan -c jest.vlan.config.js
