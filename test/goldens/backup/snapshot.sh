#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

exec 3>&1 1>&2
host=$(hostname)
staging=/var/lib/homelab/snapshot
archive="$staging.tar.gz"
# inside etcd's data directory, which its container sees at the same path
work=/var/lib/etcd/homelab-snapshot
trap 'rm -rf "$staging" "$archive" "$work"' EXIT
rm -rf "$staging" "$archive" "$work"
install -d -m 700 "$staging" "$work"
in_etcd() { nsenter -t "$(pgrep -o -x etcd)" -m -- "$@"; }
etcdctl_() {
  in_etcd etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}

# after a power-on etcd may still be starting: wait for this member to run and answer healthy
deadline=$(( $(date +%s) + 600 ))
until pgrep -x etcd >/dev/null && etcdctl_ endpoint health >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$host: etcd does not run here or does not answer healthy after 600 s (pgrep -x etcd; etcdctl endpoint health): no snapshot taken"
    exit 1
  fi
  sleep 5
done

# etcdctl logs every step of a save: shown only when it fails
saved=$(etcdctl_ snapshot save "$work/snapshot.db" 2>&1) || { echo "$host: etcdctl snapshot save failed: $saved"; exit 1; }
in_etcd etcdutl snapshot status "$work/snapshot.db" --write-out=json > "$staging/status.json"
grep -q '"revision"' "$staging/status.json" || { echo "$host: etcdutl snapshot status did not describe the snapshot: $(cat "$staging/status.json")"; exit 1; }
mv "$work/snapshot.db" "$staging/snapshot.db"
cp -a /etc/kubernetes/pki "$staging/pki"
# the Ceph cluster whose objects this snapshot holds (its fsid as this node's disks record it), or
# none: a restore checks it against the Ceph cluster running then
ceph=null
if [ -s /etc/homelab/ceph/fsid ]; then ceph="{\"fsid\":\"$(cat /etc/homelab/ceph/fsid)\"}"; fi
printf '{"cluster":"%s","node":"%s","takenAt":"%s","etcd":%s,"ceph":%s}\n' homelab "$host" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cat "$staging/status.json")" "$ceph" > "$staging/meta.json"
tar -C "$staging" -czf "$archive" meta.json status.json snapshot.db pki
echo "$host: snapshot of etcd at revision $(sed -n 's/.*"revision": *\([0-9]*\).*/\1/p' "$staging/status.json"), $(stat -c %s "$staging/snapshot.db") bytes, with /etc/kubernetes/pki"
echo "archive-sha256 $(sha256sum < "$archive" | cut -d' ' -f1)"
cat "$archive" >&3
