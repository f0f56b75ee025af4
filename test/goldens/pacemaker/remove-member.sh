#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

systemctl disable --now homelab-api-health >/dev/null 2>&1 || true
rm -f /etc/systemd/system/homelab-api-health.service /usr/local/libexec/homelab-api-health
systemctl disable --now pcsd pcsd-ruby pacemaker corosync >/dev/null 2>&1 || true
rm -f /etc/corosync/authkey /etc/corosync/corosync.conf
rm -rf /var/lib/pacemaker/cib/*
echo "cluster stopped on $(hostname)"
