#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

dpkg_ready() {
  local waited=0 output
  until output=$(dpkg --configure -a 2>&1); do
    if ! grep -qi 'lock' <<<"$output" || [ "$waited" -ge 600 ]; then
      printf '%s\n' "$output" >&2
      if [ "$waited" -ge 600 ]; then
        echo "dpkg's lock on $(hostname) was still held after 600 s (unattended-upgrades?)" >&2
      else
        echo "dpkg --configure -a failed on $(hostname)" >&2
      fi
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
}
packages_installed() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep '^ii' >/dev/null || return 1
  done
}
apt_get() {
  dpkg_ready
  retry 5 10 apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# corosync, pacemaker, pcs and the IPaddr2 agent (resource-agents, split into -base on some releases);
# a package a killed run left half-configured is finished first, and only fully installed ones count
dpkg_ready
if ! packages_installed corosync pacemaker pacemaker-cli-utils pcs curl || { ! packages_installed resource-agents && ! packages_installed resource-agents-base; } ||
  [ ! -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ]; then
  apt_get update -q
  agents=resource-agents
  if apt-cache policy resource-agents-base 2>/dev/null | grep -E 'Candidate: [0-9]' >/dev/null; then agents=resource-agents-base; fi
  apt_get install -y -q --no-install-recommends corosync pacemaker pacemaker-cli-utils pcs curl "$agents"
  echo "cluster packages installed"
fi

# the pcs command line works without its web daemon, which would only listen on another port;
# its Ruby half (Puma) sometimes hangs on stop and holds up a power-off by 90 s
for unit in pcsd pcsd-ruby; do
  if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done
