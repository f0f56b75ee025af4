#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

host=$(hostname)
fail() { echo "$host: $*" >&2; exit 1; }
in_etcd() { nsenter -t "$(pgrep -o -x etcd)" -m -- "$@"; }
etcdctl_() {
  in_etcd etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
# the member's name and peer URL as kubeadm wrote them, wherever the manifest is now
etcd_manifest() { if [ -f /etc/kubernetes/manifests/etcd.yaml ]; then echo /etc/kubernetes/manifests/etcd.yaml; else echo /etc/kubernetes/homelab-restore-held/etcd.yaml; fi; }
flag() { sed -n "s/^ *- --$1=//p" "$(etcd_manifest)" | head -n 1; }

: "${RESTORE_SHA:?the routine sets RESTORE_SHA}" "${RESTORE_CA_SHA:?the routine sets RESTORE_CA_SHA}"
ca=/etc/kubernetes/pki/ca.crt
have_ca=$(sha256sum < "$ca" | cut -d' ' -f1) || fail "no cluster CA in $ca: nothing stopped"
[ "$have_ca" = "$RESTORE_CA_SHA" ] || fail "this cluster's CA ($ca, sha256 $have_ca) is not the snapshot's (sha256 $RESTORE_CA_SHA): its objects trust another CA (the join discovery, service-account tokens); nothing stopped. A lab rebuilt from this snapshot must start from its CAs: up again from machines without /etc/kubernetes (pulumi destroy resets them) with backups.restoreFrom set"
if [ -s /etc/homelab/ceph/fsid ]; then
  ceph=$(cat /etc/homelab/ceph/fsid)
  if [ -z "${RESTORE_CEPH_FSID:-}" ]; then snapshot_ceph="records no Ceph cluster"; else snapshot_ceph="describes Ceph cluster $RESTORE_CEPH_FSID"; fi
  [ "$ceph" = "${RESTORE_CEPH_FSID:-}" ] || fail "this node's disks hold Ceph cluster $ceph (/etc/homelab/ceph/fsid), and the snapshot $snapshot_ceph: its Rook objects (the mons' fsid and keys) would take that cluster and its data out of reach; nothing stopped"
fi
snapshot=/var/lib/etcd/homelab-restore/snapshot.db
[ -f "$snapshot" ] || fail "no snapshot received in $snapshot"
have=$(sha256sum < "$snapshot" | cut -d' ' -f1)
[ "$have" = "$RESTORE_SHA" ] || fail "the snapshot received differs from the one named (sha256 $have, expected $RESTORE_SHA): nothing stopped"
if [ -d /etc/kubernetes/homelab-restore-held ] && [ -n "$(ls -A /etc/kubernetes/homelab-restore-held)" ]; then
  echo "$host: an earlier restore held the control-plane manifests; putting them back before anything else" >&2
  for held in /etc/kubernetes/homelab-restore-held/*.yaml; do mv "$held" /etc/kubernetes/manifests/; done
fi

deadline=$(( $(date +%s) + 300 ))
until pgrep -x etcd >/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "etcd does not run here after 300 s (pgrep -x etcd): nothing stopped"
  sleep 3
done

status=$(in_etcd etcdutl snapshot status "$snapshot" --write-out=json 2>&1) || fail "etcdutl cannot read the snapshot: $status; nothing stopped"
case $status in *'"revision"'*) ;; *) fail "etcdutl did not describe the snapshot: $status; nothing stopped" ;; esac
name=$(flag name)
peer=$(flag initial-advertise-peer-urls)
[ -n "$name" ] && [ -n "$peer" ] || fail "no --name or --initial-advertise-peer-urls in $(etcd_manifest): nothing stopped"
echo "member $name $peer"
