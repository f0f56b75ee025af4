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

# the cluster's shared key arrives on stdin, base64-encoded, and is never printed
restart=0
authkey_new=$(mktemp)
chmod 400 "$authkey_new"
base64 -d > "$authkey_new"
[ "$(stat -c %s "$authkey_new")" -eq 256 ] || { echo "authkey on stdin is not 256 bytes" >&2; rm -f "$authkey_new"; exit 1; }
if ! cmp -s "$authkey_new" /etc/corosync/authkey; then
  install -m 400 -o root -g root "$authkey_new" /etc/corosync/authkey
  restart=1
fi
rm -f "$authkey_new"

CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
# Managed by homelab (PacemakerVip); identical on every member.
totem {
    version: 2
    cluster_name: home
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    keyfile: /etc/corosync/authkey
}
nodelist {
    node {
        ring0_addr: 10.0.0.101
        name: home-server-1
        nodeid: 1
    }
    node {
        ring0_addr: 10.0.0.102
        name: home-server-2
        nodeid: 2
    }
    node {
        ring0_addr: 10.0.0.103
        name: home-server-3
        nodeid: 3
    }
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: yes
    timestamp: on
}
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/corosync/corosync.conf; then
  install -D -m 644 "$homelab_new" /etc/corosync/corosync.conf
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then restart=1; fi
corosync -t >/dev/null 2>&1 || { corosync -t >&2 || true; echo "corosync rejects /etc/corosync/corosync.conf" >&2; exit 1; }

# services: a changed key or membership needs a restart of both
systemctl enable corosync pacemaker >/dev/null 2>&1
if [ "$restart" = 1 ]; then
  systemctl stop pacemaker corosync
  echo "corosync configuration changed; restarting"
fi
systemctl start corosync pacemaker
systemctl is-active --quiet corosync || { echo "corosync is not running" >&2; exit 1; }

CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

misses=0
while true; do
  if curl -ksf --max-time 5 https://127.0.0.1:6443/readyz >/dev/null 2>&1; then
    misses=0
    attrd_updater -n homelab-api-healthy -U 1 -d 2s || true
  else
    misses=$((misses + 1))
    if [ "$misses" -ge 3 ]; then attrd_updater -n homelab-api-healthy -U 0 -d 2s || true; fi
  fi
  sleep 3
done
HOMELAB_EOF
if ! cmp -s "$homelab_new" /usr/local/libexec/homelab-api-health; then
  install -D -m 755 "$homelab_new" /usr/local/libexec/homelab-api-health
  CHANGED=1
fi
rm -f "$homelab_new"
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
[Unit]
Description=homelab: report Kubernetes API health to Pacemaker
After=pacemaker.service
Requires=pacemaker.service

[Service]
ExecStart=/usr/local/libexec/homelab-api-health
Restart=always

[Install]
WantedBy=multi-user.target
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/systemd/system/homelab-api-health.service; then
  install -D -m 644 "$homelab_new" /etc/systemd/system/homelab-api-health.service
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then systemctl daemon-reload; systemctl restart homelab-api-health; fi
systemctl enable --now homelab-api-health >/dev/null 2>&1
