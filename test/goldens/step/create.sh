#!/usr/bin/env bash
# homelab step home-server-1-prepare: runs its script, then records on this node that it completed
set -euo pipefail
umask 077
scratch=$(mktemp -d -p /run homelab-step.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# the step's input (its secrets) comes on stdin and stays in this root-only directory until the step ends
cat > "$scratch/input"
completed="63dc0ad7759ae7136095e763c3369c5fd3093b7bb8898a9ab50525b1aa6716ae:$(sha256sum < "$scratch/input" | cut -d' ' -f1)"
step_script='#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

echo prepared
'
bash -c "$step_script" < "$scratch/input" | tee "$scratch/output"
install -d -m 700 /var/lib/homelab/steps
{ printf '%s\n' "$completed"; cat "$scratch/output"; } > /var/lib/homelab/steps/home-server-1-prepare.new
mv /var/lib/homelab/steps/home-server-1-prepare.new /var/lib/homelab/steps/home-server-1-prepare
