#!/usr/bin/env bash
# Sets up what the tests and the demo need, cached: a second run does nothing
# but check. Parts: --packages (Debian tools the tests run), --npm, --engine
# (Pulumi CLI and plugins from Go modules), --lab (simulated lab packages and
# base image), --vlan (QEMU and the guest image of the VLAN proof). No part given: --packages --npm --engine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STAMPS=$ROOT/.tools/stamps
mkdir -p "$STAMPS"
say() { echo "==> $*"; }

# Debian packages: the real tools that check rendered files, and what the lab runs on.
TEST_PACKAGES=(shellcheck netplan.io corosync pacemaker-cli-utils iproute2 openssh-client strace fdisk ceph-osd)
LAB_PACKAGES=(debootstrap systemd-container dnsmasq-base iptables bridge-utils openssh-client iputils-ping tcpdump curl)
# The tagged VLAN proof: QEMU machines with Debian's kernel (lab/vlan-proof).
VLAN_PACKAGES=(qemu-system-x86 debootstrap e2fsprogs tcpdump iproute2)

apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ ! -f "$STAMPS/apt-updated" ] || [ -n "$(find "$STAMPS/apt-updated" -mmin +1440)" ]; then
    apt-get update -q >/dev/null
    touch "$STAMPS/apt-updated"
  fi
  # corosync and pacemaker start their services when installed; on this machine they must not.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
}

setup_npm() {
  local stamp=$STAMPS/npm-lock.sha256 wanted
  wanted=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
  if [ -d "$ROOT/node_modules" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    say "npm packages are up to date"
    return 0
  fi
  say "installing npm packages (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$stamp"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(--packages --npm --engine)
for part in "${parts[@]}"; do
  case $part in
    --packages) apt_install "${TEST_PACKAGES[@]}"; say "test tools present: shellcheck, netplan, corosync, crm_verify" ;;
    --npm) setup_npm ;;
    --engine) bash "$ROOT/engine/setup.sh" ;;
    --lab) apt_install "${LAB_PACKAGES[@]}"; "$ROOT/lab/lab" image ;;
    --vlan) apt_install "${VLAN_PACKAGES[@]}"; "$ROOT/lab/vlan-proof" image ;;
    *) echo "setup.sh: unknown part $part (expected --packages, --npm, --engine, --lab or --vlan)" >&2; exit 2 ;;
  esac
done
