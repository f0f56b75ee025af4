#!/usr/bin/env bash
# build-kubernetes.sh — an air-gapped source of Kubernetes: builds the Kubernetes binaries and the
# control-plane container images that kubeadm pulls, from Go modules (the module proxy) and Debian
# packages only, into a cache outside the checkout. Versions: offline/versions.env.
# Cached per step: a warm run rebuilds nothing and takes seconds. See offline/README.md.
#
#   bash offline/build-kubernetes.sh            build what is missing or out of date
#   bash offline/build-kubernetes.sh --force    rebuild every step (the Go build cache still helps)
#   bash offline/build-kubernetes.sh --verify   then import every image into a throwaway containerd
#                                               and run some of them (offline/verify-containerd.sh)
#   bash offline/build-kubernetes.sh --release v1.36.3
#                                               another release than offline/versions.env's (the
#                                               default), e.g. the one an upgrade starts from: pinned in
#                                               offline/releases/<version>/ (versions.env, which overrides
#                                               offline/versions.env's Kubernetes, etcd, CoreDNS and pause
#                                               pins, and the wrapper modules k8s/ and, where kubeadm of
#                                               that release pins another etcd or CoreDNS, etcd/, coredns/)
#
# Output: ${HOMELAB_OFFLINE_CACHE:-~/.cache/homelab/offline}/kubernetes-<version>/ with bin/,
#   images/*.tar (docker-archive, load with `ctr -n k8s.io images import`), SHA256SUMS,
#   artifacts.json, build-times.txt (step, built|cached, seconds) and build-history.log.
#   Steps' work files (Debian rootfs, .debs, stamps, logs) are in <cache>/work/; stamps per release
#   in work/stamps/<version>/, and another release's step logs and image specs in
#   work/{logs,specs}/<version>/. The releases share the lock (<cache>/.lock), kube-proxy's rootfs
#   and the Go build cache.
# Env: HOMELAB_OFFLINE_CACHE, OFFLINE_GOCACHE (default ~/.cache/homelab/go-build), NICE (default 10).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RELEASE="" args=()
while [ $# -gt 0 ]; do
  case $1 in
    --release) [ $# -ge 2 ] || { echo "build-offline: --release needs a version (vX.Y.Z)" >&2; exit 2; }; RELEASE=$2; shift 2 ;;
    --release=*) RELEASE=${1#--release=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
offline_args build-offline "${args[@]}"
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$OFF/versions.env"
# The pins: offline/versions.env (the default release), and for another release its own versions.env
# on top. Releases share kube-proxy's Debian rootfs (work/rootfs-*), so they share its settings too.
VERSION_FILES=("$OFF/versions.env") REL=""
if [ -n "$RELEASE" ] && [ "$RELEASE" != "$KUBERNETES_VERSION" ]; then
  REL=$OFF/releases/$RELEASE
  if [ ! -f "$REL/versions.env" ]; then
    known="$KUBERNETES_VERSION (the default)"
    for f in "$OFF"/releases/v*/versions.env; do [ -f "$f" ] && known+=", $(basename "$(dirname "$f")")"; done
    die "no pins for Kubernetes $RELEASE: offline/releases/$RELEASE/versions.env is missing (releases: $known; see offline/README.md, \"Other releases\")"
  fi
  ROOTFS_PINS="$DEBIAN_SUITE $DEBIAN_MIRROR $KUBE_PROXY_PACKAGES $KUBE_PROXY_ROOTFS_DAY $IMAGE_REGISTRY"
  # shellcheck source=/dev/null
  . "$REL/versions.env"
  VERSION_FILES+=("$REL/versions.env")
  [ "$KUBERNETES_VERSION" = "$RELEASE" ] || die "offline/releases/$RELEASE/versions.env pins KUBERNETES_VERSION=$KUBERNETES_VERSION"
  [ "$DEBIAN_SUITE $DEBIAN_MIRROR $KUBE_PROXY_PACKAGES $KUBE_PROXY_ROOTFS_DAY $IMAGE_REGISTRY" = "$ROOTFS_PINS" ] ||
    die "offline/releases/$RELEASE/versions.env sets kube-proxy's Debian base or the registry, which the releases share: set them in offline/versions.env"
fi
KV=$KUBERNETES_VERSION
# a wrapper module of the release: offline/releases/<version>/<name> if there is one, else offline/<name>
wrapper() { if [ -n "$REL" ] && [ -f "$REL/$1/go.mod" ]; then echo "$REL/$1"; else echo "$OFF/$1"; fi; }
K8S_MOD=$(wrapper k8s) ETCD_MOD=$(wrapper etcd) COREDNS_MOD=$(wrapper coredns)
OUT=$CACHE/kubernetes-$KV
WORK=$CACHE/work
BIN=$OUT/bin IMAGES=$OUT/images STAMPS=$WORK/stamps/$KV LOGS=$WORK/logs SPECS=$WORK/specs
# Another release keeps its image specs and step logs apart; the default's stay where they always were.
[ -z "$REL" ] || LOGS=$WORK/logs/$KV SPECS=$WORK/specs/$KV
offline_start "$CACHE/.lock" "$WORK/build-times.$KV.new" "$BIN" "$IMAGES" "$STAMPS" "$LOGS" "$SPECS" "$WORK/tools"

# --- prerequisites --------------------------------------------------------------------------------
need_pkg command -v gcc -- gcc
need_pkg test -e /usr/lib/x86_64-linux-gnu/libc.a -- libc6-dev
need_pkg command -v debootstrap -- debootstrap
[ -s /etc/ssl/certs/ca-certificates.crt ] || need_pkg false -- ca-certificates
use_go 1.26

# --- modules ------------------------------------------------------------------------------------------
# (module_info, lib.sh, asks from the current directory, as this build always has)
read -r KDIR KTIME < <(module_info . "k8s.io/kubernetes@$KV")
read -r _ ETIME < <(module_info . "go.etcd.io/etcd/server/v3@$ETCD_MODULE_VERSION")
read -r _ CTIME < <(module_info . "github.com/coredns/coredns@$COREDNS_MODULE_VERSION")
# The wrappers must require exactly the pinned versions.
rel() { echo "${1#"$ROOT/"}"; }
REGEN="bash offline/gen-k8s-gomod.sh $KV"; [ -z "$REL" ] || REGEN+=" $(rel "$REL")/k8s"
grep -q "k8s.io/kubernetes $KV" "$K8S_MOD/go.mod" || die "$(rel "$K8S_MOD")/go.mod does not require k8s.io/kubernetes $KV (regenerate: $REGEN)"
grep -q "go.etcd.io/etcd/server/v3 $ETCD_MODULE_VERSION" "$ETCD_MOD/go.mod" || die "$(rel "$ETCD_MOD")/go.mod is not at etcd $ETCD_MODULE_VERSION"
grep -q "github.com/coredns/coredns $COREDNS_MODULE_VERSION" "$COREDNS_MOD/go.mod" || die "$(rel "$COREDNS_MOD")/go.mod is not at coredns $COREDNS_MODULE_VERSION"

K8S_BINS=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy kube-log-runner)
ETCD_BINS=(etcd etcdctl etcdutl)
IMAGE_NAMES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns pause)
NSTEPS=$((1 + ${#K8S_BINS[@]} + ${#ETCD_BINS[@]} + 2 + 1 + 2 + ${#IMAGE_NAMES[@]}))
say "offline Kubernetes $KV${REL:+ (offline/releases/$KV)}: etcd $ETCD_TAG (module $ETCD_MODULE_VERSION), coredns $COREDNS_TAG (module $COREDNS_MODULE_VERSION), pause $PAUSE_TAG; $GOVER; cache $OUT"

# --- Go modules (all downloads happen here, before any build) ---------------------------------------
download_all() {
  local d
  for d in "$K8S_MOD" "$ETCD_MOD" "$COREDNS_MOD" "$OFF/imgbuild"; do (cd "$d" && "$GO" mod download && "$GO" mod verify); done
}
step modules "$(key_of "$K8S_MOD"/go.{mod,sum} "$ETCD_MOD"/go.{mod,sum} "$COREDNS_MOD"/go.{mod,sum} "$OFF"/imgbuild/go.{mod,sum})" \
  "downloading and verifying Go modules" download_all

# --- binaries -------------------------------------------------------------------------------------------
# Version ldflags as upstream's hack/lib/version.sh sets them for a tagged release. The module zip
# has no git metadata: gitTreeState is "archive" (what version.sh uses for exported sources),
# gitCommit is empty unless KUBE_GIT_COMMIT is given, buildDate is the module's publication time
# (SOURCE_DATE_EPOCH-style, so rebuilds are identical).
KUBE_GIT_COMMIT=${KUBE_GIT_COMMIT:-}
K_MAJOR=${KV#v}; K_MAJOR=${K_MAJOR%%.*}; K_MINOR=${KV#v*.}; K_MINOR=${K_MINOR%%.*}
KLD=""
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  KLD+=" -X '$p.buildDate=$KTIME' -X '$p.gitCommit=$KUBE_GIT_COMMIT' -X '$p.gitTreeState=archive'"
  KLD+=" -X '$p.gitVersion=$KV' -X '$p.gitMajor=$K_MAJOR' -X '$p.gitMinor=$K_MINOR'"
done
# shellcheck disable=SC2054 # the commas are go build -tags syntax
KFLAGS=(-trimpath -tags=selinux,notest,grpcnotrace "-ldflags=all=$KLD -s -w")
build_go() { # build_go <wrapper module dir> <out name> <package> <go build flags...>
  local dir=$1 out=$2 pkg=$3; shift 3
  (cd "$dir" && nice -n "$NICE" "$GO" build "$@" -o "$BIN/.$out.tmp" "$pkg")
  mv -f "$BIN/.$out.tmp" "$BIN/$out"
  ls -l "$BIN/$out"
}
K8S_KEY=$(key_of "$K8S_MOD/go.mod" "$K8S_MOD/go.sum" "${KFLAGS[*]}")
for b in "${K8S_BINS[@]}"; do
  pkg=k8s.io/kubernetes/cmd/$b; [ "$b" = kube-log-runner ] && pkg=k8s.io/component-base/logs/kube-log-runner
  [ -x "$BIN/$b" ] || rm -f "$STAMPS/bin-$b"
  step "bin-$b" "$K8S_KEY" "building $b" build_go "$K8S_MOD" "$b" "$pkg" "${KFLAGS[@]}"
done
# etcd: like etcd's scripts/build_lib.sh (CGO off, -trimpath); GitSHA stays "Not provided", as the
# module has no git metadata. Stripped like the other binaries.
EFLAGS=(-trimpath "-ldflags=-s -w")
ETCD_KEY=$(key_of "$ETCD_MOD/go.mod" "$ETCD_MOD/go.sum" "${EFLAGS[*]}")
for b in "${ETCD_BINS[@]}"; do
  pkg=go.etcd.io/etcd/server/v3; [ "$b" = etcd ] || pkg=go.etcd.io/etcd/$b/v3
  [ -x "$BIN/$b" ] || rm -f "$STAMPS/bin-$b"
  step "bin-$b" "$ETCD_KEY" "building $b $ETCD_MODULE_VERSION" build_go "$ETCD_MOD" "$b" "$pkg" "${EFLAGS[@]}"
done
# coredns: like its Makefile (CGO off, -tags=grpcnotrace, -s -w).
CFLAGS_GO=(-trimpath -tags=grpcnotrace "-ldflags=-s -w")
[ -x "$BIN/coredns" ] || rm -f "$STAMPS/bin-coredns"
step bin-coredns "$(key_of "$COREDNS_MOD/go.mod" "$COREDNS_MOD/go.sum" "${CFLAGS_GO[*]}")" \
  "building coredns $COREDNS_MODULE_VERSION" build_go "$COREDNS_MOD" coredns github.com/coredns/coredns "${CFLAGS_GO[@]}"
# pause: build/pause/linux/pause.c from the kubernetes module, flags as build/pause/Makefile
# (VERSION=v<TAG>-<REV>; REV is a git describe there, here the Kubernetes version).
PAUSE_CFLAGS="-Os -Wall -Werror -static -DVERSION=v$PAUSE_TAG-$KV"
build_pause() {
  # shellcheck disable=SC2086
  gcc $PAUSE_CFLAGS -o "$BIN/.pause.tmp" "$KDIR/build/pause/linux/pause.c"
  strip "$BIN/.pause.tmp"; mv -f "$BIN/.pause.tmp" "$BIN/pause"; "$BIN/pause" -v
}
[ -x "$BIN/pause" ] || rm -f "$STAMPS/bin-pause"
step bin-pause "$(key_of "$KDIR/build/pause/linux/pause.c" "$PAUSE_CFLAGS" "$(gcc --version | head -1)")" \
  "compiling pause $PAUSE_TAG (gcc -static)" build_pause

# kubeadm must ask for exactly the images built here.
check_images() {
  local want got
  got=$("$BIN/kubeadm" config images list --kubernetes-version "$KV")
  want=$(printf '%s\n' "$IMAGE_REGISTRY/kube-apiserver:$KV" "$IMAGE_REGISTRY/kube-controller-manager:$KV" \
    "$IMAGE_REGISTRY/kube-scheduler:$KV" "$IMAGE_REGISTRY/kube-proxy:$KV" "$IMAGE_REGISTRY/coredns/coredns:$COREDNS_TAG" \
    "$IMAGE_REGISTRY/pause:$PAUSE_TAG" "$IMAGE_REGISTRY/etcd:$ETCD_TAG")
  echo "$got"
  [ "$got" = "$want" ] || { echo "kubeadm $KV wants other images than $(rel "${VERSION_FILES[-1]}") pins:"; diff <(echo "$want") <(echo "$got"); return 1; }
}
step kubeadm-images "$(key_of "$STAMPS/bin-kubeadm" "${VERSION_FILES[@]}")" "checking the image list of kubeadm $KV" check_images

# --- image tooling and bases -----------------------------------------------------------------------------
imgbuild_step

# kube-proxy's base: Debian minbase plus iptables (legacy and nft back ends, chosen at run time by
# the wrapper), conntrack, nftables, ipset, kmod. The .debs are kept in work/debcache.
ROOTFS=$WORK/rootfs-$DEBIAN_SUITE-kube-proxy
build_rootfs() {
  rm -rf "$ROOTFS.tmp"; mkdir -p "$WORK/debcache"
  nice -n "$NICE" debootstrap --variant=minbase --include="$KUBE_PROXY_PACKAGES" --cache-dir="$WORK/debcache" \
    "$DEBIAN_SUITE" "$ROOTFS.tmp" "$DEBIAN_MIRROR"
  install -m 0755 "$OFF/kube-proxy/iptables-wrapper" "$ROOTFS.tmp/usr/sbin/iptables-wrapper"
  local t; for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sfn iptables-wrapper "$ROOTFS.tmp/usr/sbin/$t"
  done
  # a fixed day, so that rebuilds on other days give the same layer while the Debian archive is the same
  pin_shadow_day "$ROOTFS.tmp" "$KUBE_PROXY_ROOTFS_DAY"
  # shellcheck disable=SC2016 # dpkg-query's own ${...} fields
  chroot "$ROOTFS.tmp" dpkg-query -W -f '${Package} ${Version}\n' >"$ROOTFS.tmp.packages"
  rm -rf "$ROOTFS"; mv "$ROOTFS.tmp" "$ROOTFS"; mv "$ROOTFS.tmp.packages" "$ROOTFS.packages"
  grep -E '^(iptables|conntrack|nftables|ipset|kmod) ' "$ROOTFS.packages"
}
[ -d "$ROOTFS" ] || rm -f "$STAMPS/rootfs"
ROOTFS_KEY=$(key_of "$DEBIAN_SUITE $DEBIAN_MIRROR $KUBE_PROXY_PACKAGES $KUBE_PROXY_ROOTFS_DAY" "$OFF/kube-proxy/iptables-wrapper" "$(declare -f build_rootfs pin_shadow_day)")
# The rootfs is shared by the releases: one without a stamp of its own takes another release's stamp
# of the same key, rather than build it again.
if [ "$FORCE" = 0 ] && [ -d "$ROOTFS" ] && ! fresh rootfs "$ROOTFS_KEY" && grep -qsxF "$ROOTFS_KEY" "$WORK"/stamps/*/rootfs; then
  stamp rootfs "$ROOTFS_KEY"
fi
step rootfs "$ROOTFS_KEY" \
  "debootstrap $DEBIAN_SUITE rootfs for kube-proxy ($KUBE_PROXY_PACKAGES)" build_rootfs

# --- images ----------------------------------------------------------------------------------------------
PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'
CAP_NET_BIND='"security.capability": "AQAAAgAEAAAAAAAAAAAAAAAAAAA="' # vfs_cap_data v2: cap_net_bind_service=+ep
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# A distroless-static-like base layer: users root/nobody/nonroot(65532), CA bundle, /tmp.
base_layer() {
  cat <<EOF
    {"comment": "base: passwd, group, nsswitch, CA certificates (Debian ca-certificates), /tmp",
     "dirs": [{"path": "/tmp", "mode": 1023}, {"path": "/root", "mode": 448},
              {"path": "/home/nonroot", "mode": 448, "uid": 65532, "gid": 65532}, {"path": "/etc/ssl/certs", "mode": 493}],
     "files": [{"src": "$CA_BUNDLE", "dst": "/etc/ssl/certs/ca-certificates.crt", "mode": 420}],
     "texts": [
       {"dst": "/etc/passwd", "mode": 420, "content": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
       {"dst": "/etc/group", "mode": 420, "content": "root:x:0:\ntty:x:5:\nstaff:x:50:\nnobody:x:65534:\nnonroot:x:65532:\n"},
       {"dst": "/etc/nsswitch.conf", "mode": 420, "content": "hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\n"}]}
EOF
}
# spec <name> <ref> <created> <layers json> <config json>
spec() {
  printf '{"ref": "%s", "out": "%s", "created": "%s",\n "layers": [\n%s\n ],\n "config": %s}\n' \
    "$2" "$IMAGES/$1.tar" "$3" "$4" "$5" >"$SPECS/$1.json"
}
server_image() { # server_image <name> <extra file json>: like build/server-image/Dockerfile
  spec "$1" "$IMAGE_REGISTRY/$1:$KV" "$KTIME" "$(base_layer),
    {\"comment\": \"$1 $KV: /usr/local/bin/$1, /go-runner (kube-log-runner)\",
     \"files\": [{\"src\": \"$BIN/$1\", \"dst\": \"/usr/local/bin/$1\", \"mode\": 493$2},
               {\"src\": \"$BIN/kube-log-runner\", \"dst\": \"/go-runner\", \"mode\": 493}]}" \
    "{\"entrypoint\": [\"/go-runner\"], \"env\": [$PATH_ENV], \"workingDir\": \"/\"}"
}
server_image kube-apiserver ", \"xattrs\": {$CAP_NET_BIND}"
server_image kube-controller-manager ""
server_image kube-scheduler ""
spec kube-proxy "$IMAGE_REGISTRY/kube-proxy:$KV" "$KTIME" "
    {\"comment\": \"debootstrap --variant=minbase $DEBIAN_SUITE + $KUBE_PROXY_PACKAGES, iptables-wrapper\",
     \"rootfs\": \"$ROOTFS\",
     \"exclude\": [\"var/cache/apt/archives\", \"var/lib/apt/lists\", \"var/log\", \"usr/share/man\", \"usr/share/info\",
                   \"usr/share/locale\", \"etc/resolv.conf\", \"etc/hostname\", \"etc/machine-id\", \"var/cache/ldconfig/aux-cache\"]},
    {\"comment\": \"kube-proxy $KV: /usr/local/bin/kube-proxy, /go-runner (kube-log-runner)\",
     \"files\": [{\"src\": \"$BIN/kube-proxy\", \"dst\": \"/usr/local/bin/kube-proxy\", \"mode\": 493},
               {\"src\": \"$BIN/kube-log-runner\", \"dst\": \"/go-runner\", \"mode\": 493}]}" \
  "{\"entrypoint\": [\"/go-runner\"], \"env\": [$PATH_ENV], \"workingDir\": \"/\"}"
spec etcd "$IMAGE_REGISTRY/etcd:$ETCD_TAG" "$ETIME" "$(base_layer),
    {\"comment\": \"etcd $ETCD_MODULE_VERSION: /usr/local/bin/etcd, etcdctl, etcdutl\",
     \"dirs\": [{\"path\": \"/var/lib/etcd\", \"mode\": 448}],
     \"files\": [{\"src\": \"$BIN/etcd\", \"dst\": \"/usr/local/bin/etcd\", \"mode\": 493},
               {\"src\": \"$BIN/etcdctl\", \"dst\": \"/usr/local/bin/etcdctl\", \"mode\": 493},
               {\"src\": \"$BIN/etcdutl\", \"dst\": \"/usr/local/bin/etcdutl\", \"mode\": 493}]}" \
  "{\"cmd\": [\"/usr/local/bin/etcd\"], \"env\": [$PATH_ENV], \"workingDir\": \"/\"}"
spec coredns "$IMAGE_REGISTRY/coredns/coredns:$COREDNS_TAG" "$CTIME" "$(base_layer),
    {\"comment\": \"coredns $COREDNS_MODULE_VERSION: /coredns with cap_net_bind_service=+ep\",
     \"files\": [{\"src\": \"$BIN/coredns\", \"dst\": \"/coredns\", \"mode\": 493, \"xattrs\": {$CAP_NET_BIND}}]}" \
  "{\"entrypoint\": [\"/coredns\"], \"env\": [$PATH_ENV], \"user\": \"65532:65532\", \"workingDir\": \"/\"}"
spec pause "$IMAGE_REGISTRY/pause:$PAUSE_TAG" "$KTIME" "
    {\"comment\": \"pause $PAUSE_TAG: /pause (build/pause/linux/pause.c, gcc -static)\",
     \"files\": [{\"src\": \"$BIN/pause\", \"dst\": \"/pause\", \"mode\": 493}]}" \
  "{\"entrypoint\": [\"/pause\"], \"user\": \"65535:65535\"}"

# inputs of each image: its spec, imgbuild, and the stamps of the binaries and rootfs it takes.
image_inputs() {
  case $1 in
    kube-apiserver|kube-controller-manager|kube-scheduler) echo "$STAMPS/bin-$1 $STAMPS/bin-kube-log-runner $CA_BUNDLE" ;;
    kube-proxy) echo "$STAMPS/bin-kube-proxy $STAMPS/bin-kube-log-runner $STAMPS/rootfs" ;;
    etcd) echo "$STAMPS/bin-etcd $STAMPS/bin-etcdctl $STAMPS/bin-etcdutl $CA_BUNDLE" ;;
    coredns) echo "$STAMPS/bin-coredns $CA_BUNDLE" ;;
    pause) echo "$STAMPS/bin-pause" ;;
  esac
}
build_image() { # keeps "<ref> <file> <config digest> <manifest digest>" for artifacts.json
  "$IMGBUILD" "$SPECS/$1.json" | tee "$SPECS/$1.digest"
  ls -l "$IMAGES/$1.tar"
}
for i in "${IMAGE_NAMES[@]}"; do
  if [ ! -s "$IMAGES/$i.tar" ] || [ ! -s "$SPECS/$i.digest" ]; then rm -f "$STAMPS/image-$i"; fi
  # shellcheck disable=SC2046
  step "image-$i" "$(key_of "$SPECS/$i.json" "$STAMPS/imgbuild" $(image_inputs "$i"))" \
    "building image $(sed -n 's/.*"ref": "\([^"]*\)".*/\1/p' "$SPECS/$i.json" | head -1)" build_image "$i"
done

# --- manifest ----------------------------------------------------------------------------------------------
if [ "$BUILT" -gt 0 ] || [ ! -s "$OUT/SHA256SUMS" ] || [ ! -s "$OUT/artifacts.json" ]; then
  say "writing SHA256SUMS and artifacts.json"
  ALL_BINS=("${K8S_BINS[@]}" "${ETCD_BINS[@]}" coredns pause)
  FILES=()
  for b in "${ALL_BINS[@]}"; do FILES+=("bin/$b"); done
  for i in "${IMAGE_NAMES[@]}"; do FILES+=("images/$i.tar"); done
  (cd "$OUT" && sha256sum "${FILES[@]}" >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
  {
    printf '{\n  "kubernetesVersion": "%s",\n  "goVersion": "%s",\n' "$KV" "$GOVER"
    printf '  "etcd": {"tag": "%s", "moduleVersion": "%s"},\n' "$ETCD_TAG" "$ETCD_MODULE_VERSION"
    printf '  "coredns": {"tag": "%s", "moduleVersion": "%s"},\n' "$COREDNS_TAG" "$COREDNS_MODULE_VERSION"
    printf '  "pause": {"tag": "%s"},\n' "$PAUSE_TAG"
    printf '  "kubeProxyBase": {"debianSuite": "%s", "packages": "%s"},\n' "$DEBIAN_SUITE" "$KUBE_PROXY_PACKAGES"
    printf '  "binaries": [%s],\n' "$(printf '"%s", ' "${ALL_BINS[@]}" | sed 's/, $//')"
    printf '  "images": [\n'
    images_json "$SPECS" "$IMAGES" "${IMAGE_NAMES[@]}"
    printf '  ]\n}\n'
  } >"$OUT/artifacts.json.tmp"
  mv "$OUT/artifacts.json.tmp" "$OUT/artifacts.json"
fi
TOTAL=$(($(date +%s) - T0))
mv -f "$TIMES" "$OUT/build-times.txt"
# build-times.txt is the last run; runs that built something are also appended to build-history.log
[ "$BUILT" = 0 ] || { echo "# $(date -u +%FT%TZ) built=$BUILT total=${TOTAL}s $GOVER"; grep -v $'\tcached\t' "$OUT/build-times.txt"; } >>"$OUT/build-history.log"
if [ "$BUILT" = 0 ]; then
  say "everything cached: $OUT ($(du -sh "$OUT" | cut -f1)) in ${TOTAL} s"
else
  say "built $BUILT step(s) in ${TOTAL} s: $OUT ($(du -sh "$OUT" | cut -f1); work files $(du -shc "$ROOTFS" "$WORK/debcache" "$WORK/tools" "$STAMPS" "$LOGS" | tail -1 | cut -f1))"
fi
if [ "$VERIFY" = 1 ]; then
  bash "$OFF/verify-containerd.sh" "$OUT"
fi
