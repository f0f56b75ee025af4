# shellcheck shell=bash
# Shared by build-rook.sh (the Ceph image) and build-cephcsi-lite.sh
# (the CSI stand-in): a Debian rootfs with Ceph's packages and the ceph user at a fixed uid. Sourced
# after rook/versions.env (CEPH_DEBIAN_*, CEPH_UID) and lib.sh; the callers key their
# rootfs step on `declare -f` of these functions too (and lib.sh's pin_shadow_day), so a change here
# rebuilds both.

# ceph_rootfs_bootstrap <dir> <deb cache dir> <packages>: debootstrap minbase; the ceph user and group
# with uid/gid CEPH_UID before the packages (Debian's ceph-common would otherwise make a system user
# with another id, and Rook runs containers as 167 and chowns to ceph:ceph); then the packages without
# recommends, services never started (policy-rc.d). The .debs stay in the cache dir. Writes
# <dir>.packages and fails unless ceph-common is the pinned CEPH_DEBIAN_VERSION (the suite's point
# releases replace it) and the ceph user has the pinned ids.
ceph_rootfs_bootstrap() {
  local r=$1 debs=$2 packages=$3 rc=0
  if [ -d "$r" ]; then grep " $r/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l; rm -rf "$r"; fi
  mkdir -p "$debs"
  nice -n "$NICE" debootstrap --variant=minbase --include=ca-certificates --cache-dir="$debs" \
    "$CEPH_DEBIAN_SUITE" "$r" "$CEPH_DEBIAN_MIRROR"
  chroot "$r" groupadd --system --gid "$CEPH_UID" ceph
  chroot "$r" useradd --system --uid "$CEPH_UID" --gid ceph --home-dir /var/lib/ceph --no-create-home \
    --shell /usr/sbin/nologin --comment "Ceph storage service" ceph
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 0755 "$r/usr/sbin/policy-rc.d"
  echo "deb $CEPH_DEBIAN_MIRROR $CEPH_DEBIAN_SUITE main" >"$r/etc/apt/sources.list"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  mount -t proc proc "$r/proc"; mount --bind "$debs" "$r/var/cache/apt/archives"
  (set -e
   chroot "$r" apt-get update -qq
   # shellcheck disable=SC2086 # a list of packages
   DEBIAN_FRONTEND=noninteractive nice -n "$NICE" chroot "$r" apt-get install -y -q --no-install-recommends $packages
  ) || rc=$?
  umount "$r/var/cache/apt/archives"; umount "$r/proc"
  [ "$rc" = 0 ] || return "$rc"
  rm -f "$r/usr/sbin/policy-rc.d" "$r/etc/resolv.conf"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin
  # shellcheck disable=SC2016 # dpkg-query's own ${...} fields
  chroot "$r" dpkg-query -W -f '${Package} ${Version}\n' >"$r.packages"
  grep -qx "ceph-common $CEPH_DEBIAN_VERSION" "$r.packages" ||
    { echo "$CEPH_DEBIAN_SUITE's Ceph is now $(grep '^ceph-common ' "$r.packages"), not $CEPH_DEBIAN_VERSION: update tools/offline/rook/versions.env"; return 1; }
  [ "$(chroot "$r" id -u ceph):$(chroot "$r" id -g ceph)" = "$CEPH_UID:$CEPH_UID" ] ||
    { echo "the ceph user is $(chroot "$r" id ceph), not $CEPH_UID"; return 1; }
}

# ceph_rootfs_require <dir> <what, for the message> <commands...>: each command is on the rootfs's PATH.
ceph_rootfs_require() {
  local r=$1 what=$2 c; shift 2
  for c in "$@"; do
    chroot "$r" sh -c "command -v $c" >/dev/null || { echo "missing in the $what rootfs: $c"; return 1; }
  done
}

# ceph_rootfs_dirs <dir> <paths...>: the directories made and owned by the ceph user.
ceph_rootfs_dirs() {
  local r=$1 c; shift
  for c in "$@"; do mkdir -p "$r$c"; chown "$CEPH_UID:$CEPH_UID" "$r$c"; done
}
