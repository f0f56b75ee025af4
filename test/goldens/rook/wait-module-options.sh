#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

ceph_() { kc -n rook-ceph exec deploy/rook-ceph-operator -- ceph --conf=/var/lib/rook/rook-ceph/rook-ceph.config --keyring=/var/lib/rook/rook-ceph/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }

# mons, the mgr and one OSD per device come up one after another: minutes, not seconds
want_osds="3 3 3"
module_options=pending
restarted_mons=""
mgr_failed_over=no
# bounded by the clock, not a count of tries: on a busy machine one round of queries took 40 s
started=$(date +%s)
while [ $(($(date +%s) - started)) -lt 1200 ]; do
  if [ "$module_options" = pending ] && ceph_ config set mgr mgr/crash/warn_recent_interval 0 --force >/dev/null; then
    module_options=applied
    echo "mgr module options set: mgr/crash/warn_recent_interval"
  fi
  health=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.ceph.health}' 2>/dev/null || true)
  # "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20" -> "3 3 3"
  osds=$(ceph_ osd stat | tr -d ',;()' | awk '{ for (i = 2; i <= NF; i++) { if ($i == "osds:") t = $(i - 1); if ($i == "up") u = $(i - 1); if ($i == "in") n = $(i - 1) } } END { if (t != "") print t, u, n }' || true)
  pool=$(kc -n rook-ceph get cephblockpool ceph-blockpool -o jsonpath='{.status.phase}' 2>/dev/null || true)
  filesystem=$(kc -n rook-ceph get cephfilesystem ceph-filesystem -o jsonpath='{.status.phase}' 2>/dev/null || true)
  if [ "$health" = HEALTH_WARN ]; then
    # A mon can keep one op from before its quorum formed, blocked for good (its "slow ops" never clear,
    # seen in the lab and in rook/rook#14602); restarting that mon, once, clears it while the others keep quorum.
    read -r blocked_for mon <<<"$(ceph_ health detail | sed -n 's/.*SLOW_OPS: .* blocked for \([0-9]*\) sec, mon\.\([a-z]*\) has slow ops.*/\1 \2/p' || true)" || true
    if [ -n "$mon" ] && [ "$blocked_for" -ge 300 ] && [[ " $restarted_mons " != *" $mon "* ]]; then
      echo "mon.$mon has held one op for $blocked_for s: restarting it once"
      kc -n rook-ceph delete pod -l app=rook-ceph-mon,mon="$mon" --wait=false >/dev/null || true
      restarted_mons="$restarted_mons $mon"
    fi
  fi
  if [ "$health" = HEALTH_ERR ] && [ "$mgr_failed_over" = no ]; then
    # A mgr module can fail as the mgr starts and stay failed, keeping Ceph in HEALTH_ERR: devicehealth's
    # "unknown operation" (seen in the lab on a loaded machine, and in rook/rook#12349; a startup race,
    # ceph/ceph#62348). A mgr failover restarts its modules (it cleared the lab's); done once.
    module=$(ceph_ health detail | sed -n 's/.*MGR_MODULE_ERROR: Module .\([a-z_]*\). has failed.*/\1/p' | head -n 1 || true)
    if [ -n "$module" ]; then
      echo "mgr module $module has failed: failing the mgr over once, which restarts its modules"
      ceph_ mgr fail >/dev/null || true
      mgr_failed_over=yes
    fi
  fi
  daemons=pending
  if [ "$health" = HEALTH_OK ]; then
    # after a new storage.cephImage Rook restarts the daemons one by one: done once it runs that image
    # and every daemon reports one and the same version
    running_image=$(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.version.image}' 2>/dev/null || true)
    versions=$(ceph_ versions | grep -o '"ceph version [^"]*"' | sort -u | wc -l || true)
    if [ "$running_image" = quay.io/ceph/ceph:v19.2.3 ] && [ "$versions" = 1 ]; then daemons=one-version; else daemons="on ${versions:-?} versions, Rook's image ${running_image:-unknown}"; fi
  fi
  if [ "$health" = HEALTH_OK ] && [ "$daemons" = one-version ] && [ "$osds" = "$want_osds" ] && [ "$pool" = Ready ] && [ "$filesystem" = Ready ] && [ "$module_options" = applied ]; then
    echo "Ceph (quay.io/ceph/ceph:v19.2.3, Rook 1.17.8) is HEALTH_OK: 3 OSDs up and in, pool ceph-blockpool and filesystem ceph-filesystem Ready"
    # for whoever reads the log; the nodes record it from their own disks' labels (the fsid steps)
    echo "Ceph fsid: $(kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.ceph.fsid}' 2>/dev/null || true)"
    exit 0
  fi
  echo "[$(($(date +%s) - started))s of 1200s] Ceph health ${health:-unknown}; daemons $daemons; OSDs (total up in) ${osds:-unknown} of 3; pool ${pool:-pending}; filesystem ${filesystem:-pending}; mgr module options $module_options"
  sleep 10
done

echo "Ceph did not become healthy with 3 OSDs in 20 minutes (storage.healthTimeoutMinutes); see kubectl -n rook-ceph describe cephcluster rook-ceph and the rook-ceph-osd-prepare pods' logs" >&2
kc -n rook-ceph get cephcluster rook-ceph -o jsonpath='{.status.ceph.details}' >&2 2>/dev/null || true
# Ceph's own words on what keeps it from HEALTH_OK
ceph_ health detail >&2 || true
exit 1
