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

# the same corosync.conf on every member; a new membership in it is reloaded by the cluster step
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
        nodeid: 101
    }
    node {
        ring0_addr: 10.0.0.102
        name: home-server-2
        nodeid: 102
    }
    node {
        ring0_addr: 10.0.0.103
        name: home-server-3
        nodeid: 103
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
if [ "$CHANGED" = 1 ]; then echo "corosync.conf written: members home-server-1, home-server-2, home-server-3"; fi
corosync -t >/dev/null 2>&1 || { corosync -t >&2 || true; echo "corosync rejects /etc/corosync/corosync.conf" >&2; exit 1; }

# services: what corosync cannot reload (a new key, this member's node id or the cluster's name) restarts this member alone
cmap_value() { corosync-cmapctl -g "$1" 2>/dev/null | sed -n 's/^[^=]* = //p'; }
systemctl enable corosync pacemaker >/dev/null 2>&1
rejoin=0
if systemctl is-active --quiet corosync; then
  running_id=$(cmap_value runtime.votequorum.this_node_id)
  running_cluster=$(cmap_value totem.cluster_name)
  if [ "$running_id" != 102 ] || [ "$running_cluster" != home ]; then
    echo "home-server-2 runs as node ${running_id:-?} of cluster ${running_cluster:-?}; node 102 of home is wanted"
    restart=1
  fi
  if [ "$restart" = 1 ]; then
    echo "restarting corosync and pacemaker on home-server-2 (the other members keep running)"
    systemctl stop pacemaker corosync
    # a member of this cluster comes back to it; one of another (the one-node cluster Debian's package
    # starts on install) has nothing to come back to
    if [ "$running_cluster" = home ]; then rejoin=1; fi
  fi
fi
systemctl start corosync pacemaker
systemctl is-active --quiet corosync || { echo "corosync is not running" >&2; exit 1; }

# after a restart of a member of this cluster, back in a quorate membership before the next member
# may restart; members that restart for new node ids find each other only as they restart too, so
# this wait is bounded and only reported
quorate() { corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null; }
if [ "$rejoin" = 1 ]; then
  if retry 60 2 quorate 2>/dev/null; then echo "home-server-2 is back in a quorate membership"; else echo "home-server-2 is not in a quorate membership yet (120 s); the members after it restart next"; fi
fi

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
