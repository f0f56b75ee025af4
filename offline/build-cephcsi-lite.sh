#!/usr/bin/env bash
# build-cephcsi-lite.sh — homelab's stand-in for the two CSI images that Rook v1.17.8 runs and
# that cannot be built here (the module proxy serves no version of ceph-csi, go-ceph or
# node-driver-registrar): offline/cephcsi-lite, built into
#   quay.io/cephcsi/cephcsi:v3.14.2 (Debian trixie + ceph-common ceph-fuse fuse3 + /usr/local/bin/cephcsi) and
#   registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0 (the static registrar alone).
# They are NOT upstream ceph-csi: CephFS through ceph-fuse, RBD provisioning only; offline/README.md,
# "ceph-csi stand-in (cephcsi-lite)". Cached per step: a warm run rebuilds nothing.
#
#   bash offline/build-cephcsi-lite.sh            build what is missing or out of date
#   bash offline/build-cephcsi-lite.sh --force    rebuild every step (the Go build cache still helps)
#   bash offline/build-cephcsi-lite.sh --verify   then import the images into a throwaway containerd
#                                                 and run them (offline/cephcsi-lite/verify-containerd.sh)
#
# Output: images/cephcsi.tar and images/csi-node-driver-registrar.tar in the Rook mirror directory
#   ${HOMELAB_OFFLINE_CACHE:-~/.cache/homelab/offline}/rook-<version>/, whose SHA256SUMS it then regenerates
#   over every file there. offline/build-rook.sh writes the same directory: both take
#   <cache>/work/rook-<version>/.lock for it. Work files (binaries, rootfs, logs) are in <cache>/work/cephcsi-lite/.
# Env: HOMELAB_OFFLINE_CACHE, OFFLINE_GOCACHE (default ~/.cache/homelab/go-build), NICE (default 10).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
offline_args build-offline-cephcsi-lite "$@"
LITE=$OFF/cephcsi-lite
# ROOK_VERSION, CEPH_DEBIAN_SUITE/MIRROR/VERSION and CEPH_UID are the Rook build's.
# shellcheck source-path=SCRIPTDIR source=rook/versions.env
. "$OFF/rook/versions.env"
# shellcheck source-path=SCRIPTDIR source=cephcsi-lite/versions.env
. "$LITE/versions.env"
RV=$ROOK_VERSION
OUT=$CACHE/rook-$RV
OUT_LOCK=$CACHE/work/rook-$RV/.lock
WORK=$CACHE/work/cephcsi-lite
BIN=$WORK/bin STAMPS=$WORK/stamps LOGS=$WORK/logs SPECS=$WORK/specs WIMAGES=$WORK/images
offline_start "$WORK/.lock" "$WORK/build-times.new" "$BIN" "$STAMPS" "$LOGS" "$SPECS" "$WIMAGES" "$WORK/tools" "$OUT/images" "$(dirname "$OUT_LOCK")"
# shellcheck source-path=SCRIPTDIR source=ceph-rootfs.sh
. "$OFF/ceph-rootfs.sh"

# Rook's own pins must name the images this build makes
[ -z "${CEPHCSI_IMAGE:-}" ] || [ "$CEPHCSI_IMAGE" = "$LITE_CEPHCSI_IMAGE" ] ||
  die "offline/rook/versions.env names $CEPHCSI_IMAGE, this build makes $LITE_CEPHCSI_IMAGE (offline/cephcsi-lite/versions.env)"
[ -z "${REGISTRAR_IMAGE:-}" ] || [ "$REGISTRAR_IMAGE" = "$LITE_REGISTRAR_IMAGE" ] ||
  die "offline/rook/versions.env names $REGISTRAR_IMAGE, this build makes $LITE_REGISTRAR_IMAGE (offline/cephcsi-lite/versions.env)"
CEPHCSI_VERSION=${LITE_CEPHCSI_IMAGE##*:}
REGISTRAR_VERSION=${LITE_REGISTRAR_IMAGE##*:}

# --- prerequisites --------------------------------------------------------------------------------
need_pkg command -v debootstrap -- debootstrap
[ -e /usr/share/debootstrap/scripts/"$CEPH_DEBIAN_SUITE" ] || die "this debootstrap does not know $CEPH_DEBIAN_SUITE"
need_pkg command -v flock -- util-linux
use_go 1.26

# The images' time (and every file's mtime): the last commit of the stand-in's sources, so the same
# sources give the same layers. They were in tools/offline/cephcsi-lite until the tree was reorganised;
# a commit that only moved files without changing them (exact renames: -M100%, and R left out of the
# filter) does not count, so the move kept the images' time, and their keys.
CREATED=$(git -C "$ROOT" log -1 --format=%cI -M100% --diff-filter=ACDMT -- offline/cephcsi-lite tools/offline/cephcsi-lite 2>/dev/null || true)
[ -n "$CREATED" ] || CREATED=2026-01-01T00:00:00Z
CREATED=$(date -u -d "$CREATED" +%FT%TZ)
NSTEPS=9
say "cephcsi-lite (stand-in for $LITE_CEPHCSI_IMAGE and $LITE_REGISTRAR_IMAGE) on Debian $CEPH_DEBIAN_SUITE, Ceph $CEPH_DEBIAN_VERSION; $GOVER; into $OUT"

# --- modules and tests -------------------------------------------------------------------------------
download_all() {
  (cd "$LITE" && "$GO" mod download && "$GO" mod verify)
  (cd "$OFF/imgbuild" && "$GO" mod download && "$GO" mod verify)
}
step modules "$(key_of "$LITE"/go.{mod,sum} "$OFF"/imgbuild/go.{mod,sum})" "downloading and verifying Go modules" download_all

SOURCES=$(cd "$LITE" && find . -name '*.go' | sort)
# shellcheck disable=SC2086 # the list of sources
SRCKEY=$(cd "$LITE" && key_of go.mod go.sum $SOURCES)
run_tests() { (cd "$LITE" && nice -n "$NICE" "$GO" vet ./... && nice -n "$NICE" "$GO" test -count=1 ./...); }
step tests "$SRCKEY" "go vet and go test (cephcsi-lite)" run_tests

# --- binaries ------------------------------------------------------------------------------------------
build_go() { # build_go <out name> <package> <version>
  (cd "$LITE" && nice -n "$NICE" "$GO" build -trimpath "-ldflags=-s -w -X main.version=$3" -o "$BIN/.$1.tmp" "$2")
  mv -f "$BIN/.$1.tmp" "$BIN/$1"
  ls -l "$BIN/$1"; "$BIN/$1" --version
}
[ -x "$BIN/cephcsi" ] || rm -f "$STAMPS/bin-cephcsi"
step bin-cephcsi "$(key_of "$SRCKEY" "$CEPHCSI_VERSION")" "building cephcsi (static)" build_go cephcsi ./cmd/cephcsi "$CEPHCSI_VERSION"
[ -x "$BIN/csi-node-driver-registrar" ] || rm -f "$STAMPS/bin-registrar"
step bin-registrar "$(key_of "$SRCKEY" "$REGISTRAR_VERSION")" "building csi-node-driver-registrar (static)" \
  build_go csi-node-driver-registrar ./cmd/csi-node-driver-registrar "$REGISTRAR_VERSION"

# --- image tooling and the cephcsi rootfs ----------------------------------------------------------------
imgbuild_step

# The stand-in's rootfs (offline/ceph-rootfs.sh): the Ceph client, ceph-fuse and mkfs, with the
# ceph user at uid/gid CEPH_UID like the Ceph image.
ROOTFS=$WORK/rootfs-$CEPH_DEBIAN_SUITE-cephcsi
build_rootfs() {
  local r=$ROOTFS.tmp
  ceph_rootfs_bootstrap "$r" "$WORK/debcache-$CEPH_DEBIAN_SUITE" "$LITE_PACKAGES"
  ceph_rootfs_require "$r" cephcsi ceph rbd ceph-fuse fusermount3 mount umount mkfs.ext4 sh
  ceph_rootfs_dirs "$r" /etc/ceph /var/lib/ceph /var/log/ceph /run/ceph
  pin_shadow_day "$r" "$LITE_ROOTFS_DAY"
  rm -rf "$ROOTFS"; mv "$r" "$ROOTFS"; mv "$r.packages" "$ROOTFS.packages"
  grep -E '^(ceph-common|ceph-fuse|fuse3|util-linux|e2fsprogs) ' "$ROOTFS.packages"
  du -sh "$ROOTFS"
}
[ -d "$ROOTFS" ] || rm -f "$STAMPS/rootfs"
step rootfs "$(key_of "$CEPH_DEBIAN_SUITE $CEPH_DEBIAN_MIRROR $CEPH_DEBIAN_VERSION $CEPH_UID $LITE_PACKAGES $LITE_ROOTFS_DAY" "$(declare -f build_rootfs ceph_rootfs_bootstrap ceph_rootfs_require ceph_rootfs_dirs pin_shadow_day)")" \
  "debootstrap $CEPH_DEBIAN_SUITE rootfs with $LITE_PACKAGES" build_rootfs

# --- images ----------------------------------------------------------------------------------------------
PATH_DEFAULT="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EXCLUDE='["var/cache/apt/archives", "var/lib/apt/lists", "var/log/apt", "var/log/dpkg.log", "var/log/alternatives.log",
  "var/log/bootstrap.log", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
  "etc/resolv.conf", "etc/hostname", "etc/machine-id", "var/cache/ldconfig/aux-cache", "var/cache/debconf/templates.dat-old",
  "var/lib/dpkg/status-old", "var/cache/debconf/config.dat-old"]'
# (The description and source labels are in the images: they keep naming docs/offline.md and
# tools/offline/cephcsi-lite, where these were when the images were first built, because changing a
# label would change the images and rebuild them.)
labels() { # labels <title> <stands in for>
  printf '{"org.homelab.stand-in": "true", "org.opencontainers.image.title": "%s",' "$1"
  printf ' "org.opencontainers.image.description": "homelab stand-in (cephcsi-lite), NOT upstream %s: CephFS volumes through ceph-fuse, RBD images provisioned but not attached; no snapshots, clones, encryption or kernel mounts. See docs/offline.md in the homelab repository.",' "$2"
  printf ' "org.opencontainers.image.version": "%s", "org.opencontainers.image.source": "homelab tools/offline/cephcsi-lite"}' "$3"
}
spec() { # spec <name> <ref> <layers json> <config json>
  printf '{"ref": "%s", "out": "%s", "created": "%s",\n "layers": [\n%s\n ],\n "config": %s}\n' \
    "$2" "$WIMAGES/$1.tar" "$CREATED" "$3" "$4" >"$SPECS/$1.json"
}
# ceph-csi writes this ceph.conf at start (internal/util/cephconf.go) unless one is mounted; here it
# is in the image. The keyring is empty: keys come from the requests' secrets, in key files.
CEPH_CONF='[global]\nauth_cluster_required = cephx\nauth_service_required = cephx\nauth_client_required = cephx\n'
spec cephcsi "$LITE_CEPHCSI_IMAGE" "
    {\"comment\": \"debootstrap --variant=minbase $CEPH_DEBIAN_SUITE; ceph uid/gid $CEPH_UID; $LITE_PACKAGES (Ceph $CEPH_DEBIAN_VERSION)\",
     \"rootfs\": \"$ROOTFS\", \"exclude\": $EXCLUDE},
    {\"comment\": \"cephcsi-lite $CEPHCSI_VERSION: /usr/local/bin/cephcsi, /etc/ceph/ceph.conf\",
     \"dirs\": [{\"path\": \"/tmp/csi/keys\", \"mode\": 448}],
     \"files\": [{\"src\": \"$BIN/cephcsi\", \"dst\": \"/usr/local/bin/cephcsi\", \"mode\": 493}],
     \"texts\": [{\"dst\": \"/etc/ceph/ceph.conf\", \"mode\": 420, \"content\": \"$CEPH_CONF\"},
               {\"dst\": \"/etc/ceph/keyring\", \"mode\": 384, \"content\": \"\"}]}" \
  "{\"entrypoint\": [\"/usr/local/bin/cephcsi\"], \"env\": [\"PATH=$PATH_DEFAULT\"], \"workingDir\": \"/\",
    \"labels\": $(labels "cephcsi-lite" "ceph-csi (quay.io/cephcsi/cephcsi)" "$CEPHCSI_VERSION")}"
spec csi-node-driver-registrar "$LITE_REGISTRAR_IMAGE" "
    {\"comment\": \"base: passwd, group, /tmp\",
     \"dirs\": [{\"path\": \"/tmp\", \"mode\": 1023}],
     \"texts\": [{\"dst\": \"/etc/passwd\", \"mode\": 420, \"content\": \"root:x:0:0:root:/root:/sbin/nologin\\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\\n\"},
               {\"dst\": \"/etc/group\", \"mode\": 420, \"content\": \"root:x:0:\\nnobody:x:65534:\\n\"}]},
    {\"comment\": \"cephcsi-lite's csi-node-driver-registrar $REGISTRAR_VERSION\",
     \"files\": [{\"src\": \"$BIN/csi-node-driver-registrar\", \"dst\": \"/csi-node-driver-registrar\", \"mode\": 493}]}" \
  "{\"entrypoint\": [\"/csi-node-driver-registrar\"], \"env\": [\"PATH=$PATH_DEFAULT\"], \"workingDir\": \"/\",
    \"labels\": $(labels "csi-node-driver-registrar (cephcsi-lite)" "node-driver-registrar (registry.k8s.io/sig-storage/csi-node-driver-registrar)" "$REGISTRAR_VERSION")}"

build_image() {
  nice -n "$NICE" "$IMGBUILD" "$SPECS/$1.json" | tee "$SPECS/$1.digest"
  ls -l "$WIMAGES/$1.tar"
}
step image-cephcsi "$(key_of "$SPECS/cephcsi.json" "$STAMPS/imgbuild" "$STAMPS/rootfs" "$STAMPS/bin-cephcsi")" \
  "building image $LITE_CEPHCSI_IMAGE" build_image cephcsi
[ -s "$WIMAGES/cephcsi.tar" ] || die "no $WIMAGES/cephcsi.tar (delete $STAMPS/image-cephcsi)"
step image-registrar "$(key_of "$SPECS/csi-node-driver-registrar.json" "$STAMPS/imgbuild" "$STAMPS/bin-registrar")" \
  "building image $LITE_REGISTRAR_IMAGE" build_image csi-node-driver-registrar
[ -s "$WIMAGES/csi-node-driver-registrar.tar" ] || die "no $WIMAGES/csi-node-driver-registrar.tar (delete $STAMPS/image-registrar)"

# --- into the Rook mirror, and its SHA256SUMS ------------------------------------------------------------
# Under the Rook build's lock: copy the two archives in where they differ, then sum every file in the
# directory (relative paths) except SHA256SUMS itself and build-times.txt, which the Rook build
# rewrites on every run. Also done when SHA256SUMS does not list our archives as they are (the Rook
# build rewrites it with its own files only).
publish() {
  local i changed=0
  for i in cephcsi csi-node-driver-registrar; do
    if ! cmp -s "$WIMAGES/$i.tar" "$OUT/images/$i.tar"; then
      cp "$WIMAGES/$i.tar" "$OUT/images/.$i.tar.tmp" && mv -f "$OUT/images/.$i.tar.tmp" "$OUT/images/$i.tar"
      echo "installed images/$i.tar"; changed=1
    fi
    grep -qx "$(sha256sum "$WIMAGES/$i.tar" | cut -d' ' -f1)  images/$i.tar" "$OUT/SHA256SUMS" 2>/dev/null || changed=1
  done
  if [ "$changed" = 1 ]; then
    (cd "$OUT" && find . -type f ! -name SHA256SUMS ! -name build-times.txt ! -name '*.tmp' ! -name '.*' -printf '%P\n' |
      LC_ALL=C sort | xargs -r -d '\n' sha256sum >SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS)
    echo "SHA256SUMS: $(wc -l <"$OUT/SHA256SUMS") files"
  else
    echo "already in place"
  fi
}
publish_locked() {
  exec 8>"$OUT_LOCK"
  flock -n 8 || { echo "waiting for $OUT_LOCK (the Rook build)"; flock 8; }
  publish
  flock -u 8
}
rm -f "$STAMPS/publish" # cheap, and the Rook build may have rewritten SHA256SUMS since the last run
step publish "-" "installing the archives into $OUT/images and regenerating SHA256SUMS" publish_locked
tail -n +1 "$LOGS/publish.log" | sed 's/^/    /'
mv -f "$TIMES" "$WORK/build-times.txt"

TOTAL=$(($(date +%s) - T0))
say "done in ${TOTAL} s: $OUT/images/cephcsi.tar ($(du -h "$OUT/images/cephcsi.tar" | cut -f1)), $OUT/images/csi-node-driver-registrar.tar ($(du -h "$OUT/images/csi-node-driver-registrar.tar" | cut -f1))"
(cd "$OUT" && sha256sum -c --quiet SHA256SUMS) || die "SHA256SUMS in $OUT does not check"
if [ "$VERIFY" = 1 ]; then
  bash "$LITE/verify-containerd.sh" "$OUT"
fi
