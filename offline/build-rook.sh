#!/usr/bin/env bash
# build-rook.sh — an air-gapped source of Rook Ceph: the Ceph image from Debian trixie's Ceph
# packages, Rook's operator image (rook built from the Go module on top of it), the CSI sidecars the
# proxy serves, and Rook's deploy manifests, without any registry or container engine. Versions:
# offline/rook/versions.env and the wrapper go.mod files beside it. Cached per step: a warm run
# rebuilds nothing and takes seconds. See offline/README.md, "Rook and Ceph".
#
#   bash offline/build-rook.sh            build what is missing or out of date
#   bash offline/build-rook.sh --force    rebuild every step (the Go build cache still helps)
#   bash offline/build-rook.sh --verify   then import the images into a throwaway containerd
#                                         and run them (offline/rook/verify-containerd.sh)
#
# Output: ${HOMELAB_OFFLINE_CACHE:-~/.cache/homelab/offline}/rook-<version>/ with images/*.tar
#   (docker-archive, named as Rook names them; load with `ctr -n k8s.io images import`),
#   manifests/{crds,common,operator}.yaml (the module's deploy/examples, unmodified), SHA256SUMS,
#   artifacts.json and build-times.txt. Work files (binaries, rootfs, logs) are in <cache>/work/rook-<version>/.
# Not built (the proxy serves no version of their modules): quay.io/cephcsi/cephcsi and
#   csi-node-driver-registrar; build-cephcsi-lite.sh makes stand-ins; see offline/README.md.
# Env: HOMELAB_OFFLINE_CACHE, OFFLINE_GOCACHE (default ~/.cache/homelab/go-build), NICE (default 10).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
offline_args build-offline-rook "$@"
RK=$OFF/rook
# shellcheck source-path=SCRIPTDIR source=rook/versions.env
. "$RK/versions.env"
RV=$ROOK_VERSION
OUT=$CACHE/rook-$RV
WORK=$CACHE/work/rook-$RV
BIN=$WORK/bin IMAGES=$OUT/images STAMPS=$WORK/stamps LOGS=$WORK/logs SPECS=$WORK/specs
offline_start "$WORK/.lock" "$WORK/build-times.new" "$BIN" "$IMAGES" "$OUT/manifests" "$STAMPS" "$LOGS" "$SPECS" "$WORK/tools"
# shellcheck source-path=SCRIPTDIR source=ceph-rootfs.sh
. "$OFF/ceph-rootfs.sh"

# --- prerequisites --------------------------------------------------------------------------------
need_pkg command -v debootstrap -- debootstrap
need_pkg command -v patch -- patch
[ -e /usr/share/debootstrap/scripts/"$CEPH_DEBIAN_SUITE" ] || die "this debootstrap does not know $CEPH_DEBIAN_SUITE"
[ -s /etc/ssl/certs/ca-certificates.crt ] || need_pkg false -- ca-certificates
use_go 1.23
# The checksum database answers 404 for rook's and some kubernetes-csi versions: the committed go.sum
# files are the record (trust on first use, as for Calico; offline/README.md).
export GONOSUMDB=github.com/rook,github.com/kubernetes-csi

SIDECARS=()
while IFS=: read -r name mod ver tag; do SIDECARS+=("$name:$mod:$ver:$tag"); done <<<"$CSI_SIDECARS"
IMAGE_NAMES=(ceph rook-ceph)
for e in "${SIDECARS[@]}"; do IMAGE_NAMES+=("${e%%:*}"); done
NSTEPS=$((1 + 1 + ${#SIDECARS[@]} + 1 + 1 + 1 + 1 + 1 + ${#IMAGE_NAMES[@]}))

grep -q "^require github.com/rook/rook $RV" "$RK/rook/go.mod" || die "offline/rook/rook/go.mod does not require rook $RV: run offline/rook/gen-gomod.sh"
for e in "${SIDECARS[@]}"; do
  IFS=: read -r name mod ver _ <<<"$e"
  grep -q "^require $mod $ver" "$RK/$name/go.mod" || die "offline/rook/$name/go.mod does not require $mod $ver: run offline/rook/gen-gomod.sh"
done
read -r RDIR RTIME < <(module_info "$RK/rook" "github.com/rook/rook@$RV")
read -r ADIR _ < <(module_info "$RK/rook" "github.com/rook/rook/pkg/apis@$ROOK_APIS_VERSION")
say "offline Rook $RV ($RTIME) on Ceph $CEPH_VERSION (Debian $CEPH_DEBIAN_SUITE $CEPH_DEBIAN_VERSION); $GOVER; cache $OUT"

# --- modules ------------------------------------------------------------------------------------------
# rook builds in a copy of its wrapper with ./apis = pkg/apis@ROOK_APIS_VERSION + rook/apis.patch.
RSRC=$WORK/src-rook
stage_rook_src() {
  rm -rf "$RSRC.tmp"; mkdir -p "$RSRC.tmp"
  cp "$RK/rook/go.mod" "$RK/rook/go.sum" "$RSRC.tmp/"
  cp -r "$ADIR" "$RSRC.tmp/apis"; chmod -R u+w "$RSRC.tmp/apis"
  patch -p1 -s -d "$RSRC.tmp/apis" <"$RK/rook/apis.patch"
  rm -rf "$RSRC"; mv "$RSRC.tmp" "$RSRC"
}
download_all() {
  stage_rook_src
  (cd "$RSRC" && "$GO" mod download && "$GO" mod verify)
  local e; for e in "${SIDECARS[@]}"; do (cd "$RK/${e%%:*}" && "$GO" mod download && "$GO" mod verify); done
  (cd "$OFF/imgbuild" && "$GO" mod download && "$GO" mod verify)
}
[ -f "$RSRC/apis/ceph.rook.io/v1/zz_homelab_compat.go" ] || rm -f "$STAMPS/modules"
# shellcheck disable=SC2046
step modules "$(key_of "$RK"/rook/{go.mod,go.sum,apis.patch} $(for e in "${SIDECARS[@]}"; do echo "$RK/${e%%:*}/go.mod $RK/${e%%:*}/go.sum"; done) "$OFF"/imgbuild/go.{mod,sum})" \
  "downloading and verifying Go modules (rook, ${#SIDECARS[@]} CSI sidecars, imgbuild)" download_all

# --- binaries -----------------------------------------------------------------------------------------
# rook as its Makefile builds it: CGO_ENABLED=0, -s -w, pkg/version.Version. Sidecars as
# kubernetes-csi's release-tools build.make: CGO_ENABLED=0, -X main.version (here the module version
# actually built, which differs from the image tag where the proxy refused Rook's exact version).
build_go() { # build_go <dir> <out name> <package> <ldflags>
  (cd "$1" && nice -n "$NICE" "$GO" build -trimpath "-ldflags=$4" -o "$BIN/.$2.tmp" "$3")
  mv -f "$BIN/.$2.tmp" "$BIN/$2"
  ls -l "$BIN/$2"
}
RLD="-s -w -X github.com/rook/rook/pkg/version.Version=$RV"
[ -x "$BIN/rook" ] || rm -f "$STAMPS/bin-rook"
step bin-rook "$(key_of "$STAMPS/modules" "$RLD")" "building rook $RV" build_go "$RSRC" rook github.com/rook/rook/cmd/rook "$RLD"
for e in "${SIDECARS[@]}"; do
  IFS=: read -r name mod ver tag <<<"$e"
  [ -x "$BIN/$name" ] || rm -f "$STAMPS/bin-$name"
  step "bin-$name" "$(key_of "$RK/$name/go.mod" "$RK/$name/go.sum" "-s -w -X main.version=$ver")" \
    "building $name $ver (image tag $tag)" build_go "$RK/$name" "$name" "$mod/cmd/$name" "-s -w -X main.version=$ver"
done

# --- manifests ------------------------------------------------------------------------------------------
MANIFESTS=(crds.yaml common.yaml operator.yaml)
copy_manifests() {
  local m got
  got=$(sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\} *$/\1/p' "$RDIR/deploy/examples/operator.yaml" | sort -u)
  echo "operator.yaml runs: $got"
  [ "$got" = "$ROOK_IMAGE" ] || { echo "operator.yaml names $got, not $ROOK_IMAGE"; return 1; }
  # the CSI images Rook uses by default (pkg/operator/ceph/csi/spec.go) must be the ones versions.env names
  local want=("$CEPHCSI_IMAGE" "$REGISTRAR_IMAGE") e
  for e in "${SIDECARS[@]}"; do IFS=: read -r name _ _ tag <<<"$e"; want+=("$CSI_REGISTRY/$name:$tag"); done
  for m in "${want[@]}"; do
    grep -q "\"$m\"" "$RDIR/pkg/operator/ceph/csi/spec.go" || { echo "Rook's CSI defaults do not name $m"; return 1; }
    echo "Rook's CSI default: $m"
  done
  for m in "${MANIFESTS[@]}"; do install -m 0644 "$RDIR/deploy/examples/$m" "$OUT/manifests/$m.tmp" && mv -f "$OUT/manifests/$m.tmp" "$OUT/manifests/$m"; done
  ls -l "$OUT/manifests"
}
for m in "${MANIFESTS[@]}"; do [ -s "$OUT/manifests/$m" ] || rm -f "$STAMPS/manifests"; done
step manifests "$(key_of "$RV" "$CSI_SIDECARS" "$CEPHCSI_IMAGE" "$REGISTRAR_IMAGE" "$(declare -f copy_manifests)")" \
  "copying deploy/examples/{${MANIFESTS[*]}} (operator image $ROOK_IMAGE)" copy_manifests

# --- image tooling and the Ceph rootfs -------------------------------------------------------------------
imgbuild_step

# The Ceph image's rootfs (offline/ceph-rootfs.sh): Debian's Ceph packages with the ceph user at
# uid/gid 167, plus the commands Rook and ceph-volume run and the directories of upstream's image.
ROOTFS=$WORK/rootfs-$CEPH_DEBIAN_SUITE-ceph
build_rootfs() {
  local r=$ROOTFS.tmp
  ceph_rootfs_bootstrap "$r" "$WORK/debcache-$CEPH_DEBIAN_SUITE" "$CEPH_PACKAGES"
  ceph_rootfs_require "$r" ceph ceph ceph-mon ceph-mgr ceph-osd ceph-mds ceph-volume ceph-fuse ceph-authtool \
    ceph-bluestore-tool ceph-crash rados rbd radosgw-admin lvm cryptsetup dmsetup sgdisk lsblk blkid udevadm nsenter \
    stdbuf ip modprobe bash python3 ps jq
  # ceph's container/Containerfile
  ceph_rootfs_dirs "$r" /etc/ceph /var/lib/ceph /var/lib/ceph/tmp /var/lib/ceph/crash /var/lib/ceph/crash/posted \
    /var/log/ceph /run/ceph /var/lib/ceph/mon /var/lib/ceph/mgr /var/lib/ceph/osd /var/lib/ceph/mds /var/lib/ceph/bootstrap-osd
  pin_shadow_day "$r" "$RTIME" # the Rook release's day
  rm -rf "$ROOTFS"; mv "$r" "$ROOTFS"; mv "$r.packages" "$ROOTFS.packages"
  grep -E '^(ceph-common|ceph-mon|ceph-osd|ceph-volume|lvm2|python3|util-linux|udev) ' "$ROOTFS.packages"
  du -sh "$ROOTFS"
}
[ -d "$ROOTFS" ] || rm -f "$STAMPS/rootfs"
step rootfs "$(key_of "$CEPH_DEBIAN_SUITE $CEPH_DEBIAN_MIRROR $CEPH_DEBIAN_VERSION $CEPH_UID $CEPH_PACKAGES" "$(declare -f build_rootfs ceph_rootfs_bootstrap ceph_rootfs_require ceph_rootfs_dirs pin_shadow_day)")" \
  "debootstrap $CEPH_DEBIAN_SUITE rootfs with Ceph $CEPH_DEBIAN_VERSION" build_rootfs

# Ceph 18's mgr modules all import mgr_util, whose top-level `import bcrypt` fails inside the mgr's
# Python subinterpreters with Debian's PyO3-built bcrypt ("PyO3 modules do not yet support
# subinterpreters"): every always-on module is then disabled (seen in the lab: MGR_MODULE_DEPENDENCY,
# no `volumes` module, so no CephFS subvolumes). bcrypt is only used to hash dashboard passwords; the
# image gets a mgr_util.py that imports it in that one function, as later Ceph releases stopped
# importing it at load time.
MGR_UTIL=$WORK/mgr_util.py
patch_mgr_util() {
  python3 - "$ROOTFS/usr/share/ceph/mgr/mgr_util.py" "$MGR_UTIL" <<'PY'
import sys
source, target = sys.argv[1], sys.argv[2]
lines = open(source).read().split("\n")
assert lines.count("import bcrypt") == 1, "mgr_util.py has no single top-level 'import bcrypt'"
lines.remove("import bcrypt")
at = next(i for i, line in enumerate(lines) if line.startswith("def password_hash("))
lines.insert(at + 1, "    import bcrypt  # homelab: not at load time, which fails in the mgr's subinterpreters")
open(target, "w").write("\n".join(lines))
PY
  diff -u "$ROOTFS/usr/share/ceph/mgr/mgr_util.py" "$MGR_UTIL" || true
}
step mgr-util "$(key_of "$STAMPS/rootfs" "$(declare -f patch_mgr_util)")" "patching the mgr's mgr_util.py (bcrypt imported where it is used)" patch_mgr_util

# The Rook image's additions, as images/ceph/Dockerfile and Makefile make them: /usr/local/bin/{toolbox.sh,
# set-ceph-debug-level}, /etc/ceph-monitoring (deploy/examples/monitoring), /etc/rook-external
# (create-external-cluster-resources.*), and the rook user 2016 in passwd/group.
ROOKFS=$WORK/rookfs
stage_rookfs() {
  rm -rf "$ROOKFS.tmp"; mkdir -p "$ROOKFS.tmp/usr/local/bin" "$ROOKFS.tmp/etc/rook-external/test-data"
  install -m 0755 "$RDIR/images/ceph/toolbox.sh" "$RDIR/images/ceph/set-ceph-debug-level" "$ROOKFS.tmp/usr/local/bin/"
  cp -r "$RDIR/deploy/examples/monitoring" "$ROOKFS.tmp/etc/ceph-monitoring"
  cp "$RDIR"/deploy/examples/create-external-cluster-resources.* "$ROOKFS.tmp/etc/rook-external/"
  find "$ROOKFS.tmp/etc" -type d -exec chmod 0755 {} +; find "$ROOKFS.tmp/etc" -type f -exec chmod 0644 {} +
  chmod 0755 "$ROOKFS.tmp"/etc/rook-external/*.py
  cp "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOKFS.tmp/etc/"
  echo "rook:x:$ROOK_UID:$ROOK_UID::/home/rook:/bin/sh" >>"$ROOKFS.tmp/etc/passwd"
  echo "rook:x:$ROOK_UID:" >>"$ROOKFS.tmp/etc/group"
  chown -R 0:0 "$ROOKFS.tmp"
  rm -rf "$ROOKFS"; mv "$ROOKFS.tmp" "$ROOKFS"
  (cd "$ROOKFS" && find . -printf '%M %p\n' | sort -k2 | head -40)
}
[ -d "$ROOKFS" ] || rm -f "$STAMPS/rookfs"
step rookfs "$(key_of "$RV" "$STAMPS/rootfs" "$(declare -f stage_rookfs)")" \
  "staging the Rook image's files (toolbox.sh, ceph-monitoring, rook-external, user $ROOK_UID)" stage_rookfs

# --- images ----------------------------------------------------------------------------------------------
PATH_DEFAULT="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
EXCLUDE='["var/cache/apt/archives", "var/lib/apt/lists", "var/log/apt", "var/log/dpkg.log", "var/log/alternatives.log",
  "var/log/bootstrap.log", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
  "etc/resolv.conf", "etc/hostname", "etc/machine-id", "var/cache/ldconfig/aux-cache", "var/cache/debconf/templates.dat-old",
  "var/lib/dpkg/status-old", "var/cache/debconf/config.dat-old"]'
spec() { # spec <name> <ref> <layers json> <config json>
  printf '{"ref": "%s", "out": "%s", "created": "%s",\n "layers": [\n%s\n ],\n "config": %s}\n' \
    "$2" "$IMAGES/$1.tar" "$RTIME" "$3" "$4" >"$SPECS/$1.json"
}
CEPH_LAYER="{\"comment\": \"debootstrap --variant=minbase $CEPH_DEBIAN_SUITE; ceph uid/gid $CEPH_UID; $CEPH_PACKAGES (Ceph $CEPH_DEBIAN_VERSION)\",
     \"rootfs\": \"$ROOTFS\", \"exclude\": $EXCLUDE}"
# Rook's `dmsetup version` before each OSD provisioning fails on a kernel without device-mapper
# (the lab's host): offline/rook/dmsetup answers just that call there (see the file). The image's spec
# names a copy in the work dir, not the file in the checkout, so that the spec, and with it the image's
# key, is the same wherever the checkout is; the key takes the file's content (image_inputs).
DMSETUP_WRAPPER=$RK/dmsetup
cmp -s "$DMSETUP_WRAPPER" "$WORK/dmsetup" || install -m 0755 "$DMSETUP_WRAPPER" "$WORK/dmsetup"
CEPH_LAYER="$CEPH_LAYER,
    {\"comment\": \"homelab: /usr/local/sbin/dmsetup in front of Debian's, for kernels without device-mapper; mgr_util.py importing bcrypt where it is used\",
     \"files\": [{\"src\": \"$WORK/dmsetup\", \"dst\": \"/usr/local/sbin/dmsetup\", \"mode\": 493},
               {\"src\": \"$MGR_UTIL\", \"dst\": \"/usr/share/ceph/mgr/mgr_util.py\", \"mode\": 420}]}"
CEPH_ENV="\"PATH=$PATH_DEFAULT\", \"CEPH_VERSION=reef\", \"CEPH_POINT_RELEASE=-${CEPH_VERSION#v}\""
spec ceph "$CEPH_IMAGE" "    $CEPH_LAYER" \
  "{\"cmd\": [\"/bin/bash\"], \"env\": [$CEPH_ENV], \"workingDir\": \"/\",
    \"labels\": {\"org.opencontainers.image.title\": \"Ceph\", \"org.opencontainers.image.version\": \"$CEPH_VERSION\", \"ceph.debian.version\": \"$CEPH_DEBIAN_VERSION\"}}"
spec rook-ceph "$ROOK_IMAGE" "    $CEPH_LAYER,
    {\"comment\": \"rook $RV: toolbox.sh, set-ceph-debug-level, /etc/ceph-monitoring, /etc/rook-external, user rook $ROOK_UID\",
     \"rootfs\": \"$ROOKFS\"},
    {\"comment\": \"rook $RV\", \"files\": [{\"src\": \"$BIN/rook\", \"dst\": \"/usr/local/bin/rook\", \"mode\": 493}]}" \
  "{\"entrypoint\": [\"/usr/local/bin/rook\"], \"cmd\": [\"\"], \"env\": [$CEPH_ENV], \"user\": \"$ROOK_UID\", \"workingDir\": \"/\",
    \"labels\": {\"org.opencontainers.image.title\": \"Rook Ceph\", \"org.opencontainers.image.version\": \"$RV\"}}"
# The sidecars' base stands in for distroless/static: passwd/group (root, nobody, nonroot 65532),
# nsswitch, the CA bundle and /tmp; the binary at /<name>, the entrypoint as upstream's Dockerfiles.
for e in "${SIDECARS[@]}"; do
  IFS=: read -r name mod ver tag <<<"$e"
  spec "$name" "$CSI_REGISTRY/$name:$tag" "
    {\"comment\": \"base: passwd, group, nsswitch, CA certificates (Debian ca-certificates), /tmp\",
     \"dirs\": [{\"path\": \"/tmp\", \"mode\": 1023}, {\"path\": \"/root\", \"mode\": 448}, {\"path\": \"/etc/ssl/certs\", \"mode\": 493}],
     \"files\": [{\"src\": \"$CA_BUNDLE\", \"dst\": \"/etc/ssl/certs/ca-certificates.crt\", \"mode\": 420}],
     \"texts\": [
       {\"dst\": \"/etc/passwd\", \"mode\": 420, \"content\": \"root:x:0:0:root:/root:/sbin/nologin\\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\\n\"},
       {\"dst\": \"/etc/group\", \"mode\": 420, \"content\": \"root:x:0:\\nnobody:x:65534:\\nnonroot:x:65532:\\n\"},
       {\"dst\": \"/etc/nsswitch.conf\", \"mode\": 420, \"content\": \"hosts: files dns\\nnetworks: files\\npasswd: files\\ngroup: files\\n\"}]},
    {\"comment\": \"$name from $mod@$ver\", \"files\": [{\"src\": \"$BIN/$name\", \"dst\": \"/$name\", \"mode\": 493}]}" \
    "{\"entrypoint\": [\"/$name\"], \"env\": [\"PATH=$PATH_DEFAULT\"], \"workingDir\": \"/\",
      \"labels\": {\"org.opencontainers.image.source\": \"https://$mod\", \"org.opencontainers.image.version\": \"$ver\", \"homelab.image-tag\": \"$tag\"}}"
done
image_inputs() {
  case $1 in
    ceph) echo "$STAMPS/rootfs $DMSETUP_WRAPPER $STAMPS/mgr-util" ;;
    rook-ceph) echo "$STAMPS/rootfs $DMSETUP_WRAPPER $STAMPS/mgr-util $STAMPS/rookfs $STAMPS/bin-rook" ;;
    *) echo "$CA_BUNDLE $STAMPS/bin-$1" ;;
  esac
}
build_image() {
  nice -n "$NICE" "$IMGBUILD" "$SPECS/$1.json" | tee "$SPECS/$1.digest"
  ls -l "$IMAGES/$1.tar"
}
for i in "${IMAGE_NAMES[@]}"; do
  if [ ! -s "$IMAGES/$i.tar" ] || [ ! -s "$SPECS/$i.digest" ]; then rm -f "$STAMPS/image-$i"; fi
  ref=$(sed -n 's/^{"ref": "\([^"]*\)".*/\1/p' "$SPECS/$i.json")
  # shellcheck disable=SC2046
  step "image-$i" "$(key_of "$SPECS/$i.json" "$STAMPS/imgbuild" $(image_inputs "$i"))" "building image $ref" build_image "$i"
done

# --- checksums and metadata --------------------------------------------------------------------------------
if [ "$BUILT" -gt 0 ] || [ ! -s "$OUT/SHA256SUMS" ] || [ ! -s "$OUT/artifacts.json" ]; then
  say "writing SHA256SUMS and artifacts.json"
  FILES=()
  for m in "${MANIFESTS[@]}"; do FILES+=("manifests/$m"); done
  for i in "${IMAGE_NAMES[@]}"; do FILES+=("images/$i.tar"); done
  (cd "$OUT" && sha256sum "${FILES[@]}" >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
  {
    printf '{\n  "rookVersion": "%s",\n  "cephVersion": "%s",\n  "goVersion": "%s",\n' "$RV" "$CEPH_VERSION" "$GOVER"
    printf '  "rookModule": {"path": "github.com/rook/rook", "version": "%s", "time": "%s", "apis": "github.com/rook/rook/pkg/apis@%s"},\n' "$RV" "$RTIME" "$ROOK_APIS_VERSION"
    printf '  "ceph": {"debianSuite": "%s", "debianVersion": "%s", "uid": %s, "packages": "%s"},\n' \
      "$CEPH_DEBIAN_SUITE" "$CEPH_DEBIAN_VERSION" "$CEPH_UID" "$CEPH_PACKAGES"
    printf '  "csiSidecars": [\n'
    n=0
    for e in "${SIDECARS[@]}"; do
      IFS=: read -r name mod ver tag <<<"$e"
      n=$((n + 1)); sep=,; [ "$n" = "${#SIDECARS[@]}" ] && sep=
      printf '    {"name": "%s", "module": "%s", "moduleVersion": "%s", "imageTag": "%s"}%s\n' "$name" "$mod" "$ver" "$tag" "$sep"
    done
    printf '  ],\n  "notBuilt": [\n    {"ref": "%s", "why": "the Go module proxy serves no version of github.com/ceph/ceph-csi"},\n' "$CEPHCSI_IMAGE"
    printf '    {"ref": "%s", "why": "the Go module proxy serves no version of github.com/kubernetes-csi/node-driver-registrar"}\n  ],\n' "$REGISTRAR_IMAGE"
    printf '  "manifests": ['
    n=0
    for m in "${MANIFESTS[@]}"; do
      n=$((n + 1)); sep=", "; [ "$n" = "${#MANIFESTS[@]}" ] && sep=
      printf '{"file": "manifests/%s", "sha256": "%s"}%s' "$m" "$(sha256sum "$OUT/manifests/$m" | cut -d' ' -f1)" "$sep"
    done
    printf '],\n  "images": [\n'
    images_json "$SPECS" "$IMAGES" "${IMAGE_NAMES[@]}"
    printf '  ]\n}\n'
  } >"$OUT/artifacts.json.tmp"
  mv "$OUT/artifacts.json.tmp" "$OUT/artifacts.json"
fi
finish_build "$RK/verify-containerd.sh"
