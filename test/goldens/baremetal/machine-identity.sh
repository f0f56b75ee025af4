#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

machine_id=$(tr -d '[:space:]' < /etc/machine-id 2>/dev/null || true)
if [ -z "$machine_id" ]; then echo unknown; exit 0; fi
printf '%s' "$machine_id" | sha256sum | cut -d' ' -f1
