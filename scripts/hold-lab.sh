#!/usr/bin/env bash
# hold-lab.sh LABEL COMMAND...: runs COMMAND while holding the machine's one simulated lab.
# The lab has fixed bridges and addresses, so two suites (or a suite and the demo) on one machine
# would purge and power each other's machines. A second holder waits, saying who has the lab, up to
# HOMELAB_LAB_WAIT_MINUTES (default 120), then fails naming the holder. The lock is held by flock(1)
# itself (-o), so the lab's daemons started by COMMAND do not keep it after COMMAND ends.
set -euo pipefail
label=${1:?usage: hold-lab.sh LABEL COMMAND...}; shift
lock=${HOMELAB_LAB_LOCK:-/run/lock/homelab-lab.lock}
wait_minutes=${HOMELAB_LAB_WAIT_MINUTES:-120}
case $wait_minutes in ''|*[!0-9]*) echo "hold-lab.sh: HOMELAB_LAB_WAIT_MINUTES must be a whole number of minutes, not '$wait_minutes'" >&2; exit 2 ;; esac
mkdir -p "$(dirname "$lock")"
touch "$lock"
holder() { cat "$lock.holder" 2>/dev/null || echo "an unknown process (no $lock.holder)"; }

if ! flock -n "$lock" true; then
  echo "==> the simulated lab is in use by $(holder); waiting up to $wait_minutes min for it (HOMELAB_LAB_WAIT_MINUTES)"
fi
status=0
# shellcheck disable=SC2016 # expanded by the inner bash, once it holds the lock
HOMELAB_LAB_HELD=$label flock -o -E 75 -w $((wait_minutes * 60)) "$lock" \
  bash -c 'echo "$HOMELAB_LAB_HELD (pid $$, since $(date -u +%FT%TZ), in $PWD)" > "$0.holder"; exec "$@"' "$lock" "$@" || status=$?
if [ "$status" = 75 ]; then
  echo "hold-lab.sh: $label could not have the simulated lab within $wait_minutes min: it is still in use by $(holder)" >&2
fi
exit "$status"
