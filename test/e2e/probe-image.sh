#!/usr/bin/env bash
# The probe image the end-to-end tests run in pods (busybox from Debian's busybox-static,
# written by the offline build's image writer, offline/imgbuild, as built by
# offline/build-kubernetes.sh into the offline cache): .lab/probe/probe.tar, homelab.test/probe:1.
# Built once, by the e2e entry points (scripts/test-e2e-*.sh); the tests import it into each
# node's containerd like an air-gapped user would (cluster.ts).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say() { echo "==> $*"; }

CACHE=${HOMELAB_OFFLINE_CACHE:-$HOME/.cache/homelab/offline}
PROBE=$ROOT/.lab/probe
mkdir -p "$PROBE"
applets=(sh httpd wget nslookup hostname mkdir cat sleep sync ls)
symlinks=$(printf '{"path": "/bin/%s", "target": "busybox"},' "${applets[@]}")
cat > "$PROBE/spec.json.new" <<JSON
{"ref": "homelab.test/probe:1", "out": "$PROBE/probe.tar", "created": "2026-01-01T00:00:00Z",
 "layers": [{"comment": "busybox-static from Debian",
   "files": [{"src": "/bin/busybox", "dst": "/bin/busybox", "mode": 493}],
   "symlinks": [${symlinks%,}]}],
 "config": {"entrypoint": ["/bin/sh"]}}
JSON
# rebuilt when the spec changes (another applet, say)
if [ -s "$PROBE/probe.tar" ] && cmp -s "$PROBE/spec.json.new" "$PROBE/spec.json"; then
  rm -f "$PROBE/spec.json.new"
  exit 0
fi
say "building the probe image (busybox from Debian's busybox-static)"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep "install ok installed" >/dev/null \
  || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >/dev/null
mv "$PROBE/spec.json.new" "$PROBE/spec.json"
"$CACHE/work/tools/imgbuild" "$PROBE/spec.json"
