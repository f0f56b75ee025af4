#!/usr/bin/env bash
# Safety end to end (npm run test:e2e:safety): the committed lab stack, whole chain to Rook
# Ceph, air-gapped from the lab's mirror, then the ways a user could lose data or leak a
# secret: a cut-short init, command lines, connection changes, the wipe flag, protection,
# a changed host key, destroy. Sets up what it needs, cached, like the storage suite.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "==> $*"; }

bash scripts/setup.sh --packages --npm --engine --lab
bash offline/build.sh
# shellcheck source-path=SCRIPTDIR source=../engine/env.sh
source engine/env.sh
bash test/e2e/probe-image.sh

say "end-to-end: safety on the simulated lab (jest, test/e2e/safety.test.ts, about an hour)"
exec bash scripts/jest-summary.sh e2e-safety -c jest.e2e.config.js test/e2e/safety.test.ts
