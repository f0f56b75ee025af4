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
bash scripts/build-offline.sh
bash scripts/build-offline-calico.sh
# shellcheck source=scripts/engine-env.sh
source scripts/engine-env.sh

CACHE=${HOMELAB_OFFLINE_CACHE:-$HOME/.cache/homelab/offline}
PROBE=$ROOT/.lab/probe
if [ ! -s "$PROBE/probe.tar" ]; then
  say "building the probe image (busybox from Debian's busybox-static)"
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >/dev/null
  mkdir -p "$PROBE"
  cat > "$PROBE/spec.json" <<JSON
{"ref": "homelab.test/probe:1", "out": "$PROBE/probe.tar", "created": "2026-01-01T00:00:00Z",
 "layers": [{"comment": "busybox-static from Debian",
   "files": [{"src": "/bin/busybox", "dst": "/bin/busybox", "mode": 493}],
   "symlinks": [{"path": "/bin/sh", "target": "busybox"}, {"path": "/bin/httpd", "target": "busybox"},
                {"path": "/bin/wget", "target": "busybox"}, {"path": "/bin/nslookup", "target": "busybox"},
                {"path": "/bin/hostname", "target": "busybox"}, {"path": "/bin/mkdir", "target": "busybox"},
                {"path": "/bin/cat", "target": "busybox"}, {"path": "/bin/sleep", "target": "busybox"}]}],
 "config": {"entrypoint": ["/bin/sh"]}}
JSON
  "$CACHE/work/tools/imgbuild" "$PROBE/spec.json"
fi

say "end-to-end: Kubernetes and Calico on the simulated lab (jest, test/e2e/kubernetes.test.ts, 15+ minutes)"
exec bash scripts/jest-summary.sh e2e-kubernetes -c jest.e2e.config.js test/e2e/kubernetes.test.ts
