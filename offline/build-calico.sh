#!/usr/bin/env bash
# build-calico.sh — an air-gapped source of Calico: builds Calico's binaries from Go modules
# (the module proxy) and its three container images on Debian packages, without any registry or
# container engine, plus the VXLAN manifest that names them. Versions: offline/calico/versions.env
# and offline/calico/go.mod. Cached per step: a warm run rebuilds nothing and takes seconds.
# See offline/README.md, "Calico".
#
#   bash offline/build-calico.sh            build what is missing or out of date
#   bash offline/build-calico.sh --force    rebuild every step (the Go build cache still helps)
#   bash offline/build-calico.sh --verify   then import the images into a throwaway containerd
#                                           and run them (offline/calico/verify-containerd.sh)
#
# Output: ${HOMELAB_OFFLINE_CACHE:-~/.cache/homelab/offline}/calico-<version>/ with images/node.tar,
#   images/cni.tar, images/kube-controllers.tar (docker-archive, named quay.io/calico/<name>:<version>;
#   load with `ctr -n k8s.io images import`), manifests/calico-vxlan.yaml (the module's, unmodified),
#   SHA256SUMS, artifacts.json and build-times.txt. Work files (binaries, rootfs, logs) are in
#   <cache>/work/calico-<version>/.
# Env: HOMELAB_OFFLINE_CACHE, OFFLINE_GOCACHE (default ~/.cache/homelab/go-build), NICE (default 10).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
offline_args build-offline-calico "$@"
CAL=$OFF/calico
# DEBIAN_SUITE and DEBIAN_MIRROR are shared with the Kubernetes build (kube-proxy's base).
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$OFF/versions.env"
# shellcheck source-path=SCRIPTDIR source=calico/versions.env
. "$CAL/versions.env"
: "${DEBIAN_SUITE:=bookworm}" "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
CV=$CALICO_VERSION
OUT=$CACHE/calico-$CV
WORK=$CACHE/work/calico-$CV
BIN=$WORK/bin IMAGES=$OUT/images STAMPS=$WORK/stamps LOGS=$WORK/logs SPECS=$WORK/specs
offline_start "$WORK/.lock" "$WORK/build-times.new" "$BIN" "$IMAGES" "$OUT/manifests" "$STAMPS" "$LOGS" "$SPECS" "$WORK/tools"

# --- prerequisites --------------------------------------------------------------------------------
need_pkg command -v gcc -- gcc            # mountns is a cgo program (a constructor that calls setns)
need_pkg test -e /usr/lib/x86_64-linux-gnu/libc.a -- libc6-dev
need_pkg command -v debootstrap -- debootstrap
[ -s /etc/ssl/certs/ca-certificates.crt ] || need_pkg false -- ca-certificates
use_go 1.24.9
# The checksum database does not know Calico's pseudo-versions: go.sum is the record (trust on
# first use, see offline/README.md).
export GONOSUMDB=github.com/projectcalico,github.com/tigera

# --- modules ------------------------------------------------------------------------------------------
grep -q "github.com/projectcalico/calico $CALICO_MODULE_VERSION" "$CAL/go.mod" ||
  die "offline/calico/go.mod does not require github.com/projectcalico/calico $CALICO_MODULE_VERSION"
grep -q "github.com/containernetworking/plugins $CNI_PLUGINS_VERSION" "$CAL/go.mod" ||
  die "offline/calico/go.mod does not require github.com/containernetworking/plugins $CNI_PLUGINS_VERSION"
read -r CDIR CTIME < <(module_info "$CAL" "github.com/projectcalico/calico@$CALICO_MODULE_VERSION")

# name:package (relative to github.com/projectcalico/calico/ unless it starts with github.com/)
CALICO_BINS=(calico-node:node/cmd/calico-node mountns:node/cmd/mountns
  calico:cni-plugin/cmd/calico install:cni-plugin/cmd/install
  kube-controllers:kube-controllers/cmd/kube-controllers check-status:kube-controllers/cmd/check-status
  wrapper:kube-controllers/cmd/wrapper)
CNI_PLUGINS=(portmap:plugins/meta/portmap bandwidth:plugins/meta/bandwidth tuning:plugins/meta/tuning
  loopback:plugins/main/loopback host-local:plugins/ipam/host-local)
IMAGE_NAMES=(node cni kube-controllers)
NSTEPS=$((1 + ${#CALICO_BINS[@]} + ${#CNI_PLUGINS[@]} + 1 + 1 + 2 + ${#IMAGE_NAMES[@]}))
say "offline Calico $CV (module $CALICO_MODULE_VERSION, $CTIME), CNI plugins $CNI_PLUGINS_VERSION, node base Debian $DEBIAN_SUITE; $GOVER; cache $OUT"

download_all() {
  (cd "$CAL" && "$GO" mod download && "$GO" mod verify)
  (cd "$OFF/imgbuild" && "$GO" mod download && "$GO" mod verify)
}
step modules "$(key_of "$CAL"/go.{mod,sum} "$OFF"/imgbuild/go.{mod,sum})" "downloading and verifying Go modules" download_all

# --- binaries -------------------------------------------------------------------------------------------
# Version ldflags as Calico's lib.Makefile sets them. The module zip has no git metadata: the
# revision is the pseudo-version's commit prefix, the build date the commit time (so rebuilds are
# identical). Stripped (-s -w), unlike upstream. CGO is off, as in upstream's non-amd64/arm64 builds:
# calico-node has no libbpf, so the eBPF data plane is unavailable (iptables/nftables work).
BUILD_DATE=$(date -u -d "$CTIME" +%FT%T%z)
BI=github.com/projectcalico/calico/pkg/buildinfo
CLD="-X $BI.Version=$CV -X $BI.BuildDate=$BUILD_DATE -X $BI.GitRevision=$CALICO_GIT_REVISION"
# main.VERSION is the version the CNI installer logs (cni-plugin/cmd/install; upstream leaves it empty).
CFLAGS=(-trimpath "-ldflags=-s -w $CLD -X main.VERSION=$CV")
# mountns must be cgo (its constructor enters the host's namespaces before the Go runtime starts
# threads; without cgo it is a stub): linked statically, so it needs nothing from the image.
MFLAGS=(-trimpath "-ldflags=-s -w $CLD -linkmode external -extldflags -static")
# The CNI plugins as calico's cni-plugin/Makefile builds its fork (CGO off, BuildVersion set).
PFLAGS=(-trimpath "-ldflags=-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION")
build_go() { # build_go <out name> <package> <go build flags...>
  local out=$1 pkg=$2; shift 2
  (cd "$CAL" && nice -n "$NICE" "$GO" build "$@" -o "$BIN/.$out.tmp" "$pkg")
  mv -f "$BIN/.$out.tmp" "$BIN/$out"
  ls -l "$BIN/$out"
}
build_cgo() { CGO_ENABLED=1 build_go "$@"; file "$BIN/$1" 2>/dev/null || true; }
for e in "${CALICO_BINS[@]}"; do
  b=${e%%:*} pkg=github.com/projectcalico/calico/${e#*:}
  [ -x "$BIN/$b" ] || rm -f "$STAMPS/bin-$b"
  if [ "$b" = mountns ]; then
    step "bin-$b" "$(key_of "$CAL/go.mod" "$CAL/go.sum" "${MFLAGS[*]}" "$(gcc --version | head -1)")" \
      "building $b (cgo, static)" build_cgo "$b" "$pkg" "${MFLAGS[@]}"
  else
    step "bin-$b" "$(key_of "$CAL/go.mod" "$CAL/go.sum" "${CFLAGS[*]}")" "building $b" build_go "$b" "$pkg" "${CFLAGS[@]}"
  fi
done
for e in "${CNI_PLUGINS[@]}"; do
  b=${e%%:*} pkg=github.com/containernetworking/plugins/${e#*:}
  [ -x "$BIN/$b" ] || rm -f "$STAMPS/bin-$b"
  step "bin-$b" "$(key_of "$CAL/go.mod" "$CAL/go.sum" "${PFLAGS[*]}")" "building CNI plugin $b $CNI_PLUGINS_VERSION" \
    build_go "$b" "$pkg" "${PFLAGS[@]}"
done

# --- manifest ----------------------------------------------------------------------------------------
MANIFEST=$OUT/manifests/$CALICO_MANIFEST
copy_manifest() {
  local src=$CDIR/manifests/$CALICO_MANIFEST want got
  [ -f "$src" ] || { echo "no manifests/$CALICO_MANIFEST in $CDIR"; return 1; }
  want=$(printf '%s\n' "${IMAGE_NAMES[@]}" | sed "s|.*|$CALICO_REGISTRY/&:$CV|" | sort)
  got=$(sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\} *$/\1/p' "$src" | sort -u)
  echo "$got"
  [ "$got" = "$want" ] || { echo "the manifest names other images than this build makes:"; diff <(echo "$want") <(echo "$got"); return 1; }
  grep -q '^  calico_backend: "vxlan"' "$src" || { echo "calico_backend is not vxlan in $src"; return 1; }
  install -m 0644 "$src" "$MANIFEST.tmp" && mv -f "$MANIFEST.tmp" "$MANIFEST"
}
[ -s "$MANIFEST" ] || rm -f "$STAMPS/manifest"
step manifest "$(key_of "$CDIR/manifests/$CALICO_MANIFEST" "$CALICO_REGISTRY")" \
  "copying manifests/$CALICO_MANIFEST (images ${CALICO_REGISTRY}/{${IMAGE_NAMES[*]}}:$CV)" copy_manifest

# --- image tooling and bases -----------------------------------------------------------------------------
# offline/imgbuild, the Kubernetes build's image writer, built into this build's work dir.
imgbuild_step

# calico-node's base: Debian minbase plus what node/Dockerfile.amd64 installs (versions.env). As
# upstream, iptables and ip6tables default to the legacy back end; felix picks iptables-legacy-* or
# iptables-nft-* itself (FELIX_IPTABLESBACKEND=Auto). The .debs are kept in the work dir.
ROOTFS=$WORK/rootfs-$DEBIAN_SUITE-node
build_rootfs() {
  rm -rf "$ROOTFS.tmp"; mkdir -p "$WORK/debcache"
  nice -n "$NICE" debootstrap --variant=minbase --include="$CALICO_NODE_PACKAGES" --cache-dir="$WORK/debcache" \
    "$DEBIAN_SUITE" "$ROOTFS.tmp" "$DEBIAN_MIRROR"
  chroot "$ROOTFS.tmp" update-alternatives --set iptables /usr/sbin/iptables-legacy
  chroot "$ROOTFS.tmp" update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy
  # the release's day, so that rebuilds give the same layer while the Debian archive is the same
  pin_shadow_day "$ROOTFS.tmp" "$CTIME"
  # runit's /etc/service (Debian's service directory) would clash with calico's etc/service/.
  if [ -L "$ROOTFS.tmp/etc/service" ] || [ -d "$ROOTFS.tmp/etc/service" ]; then rm -rf "$ROOTFS.tmp/etc/service"; fi
  local t; for t in runsvdir runsv sv svlogd chpst iptables-legacy iptables-nft ipset ip tc conntrack nft arp modprobe ps which bash; do
    chroot "$ROOTFS.tmp" sh -c "command -v $t" >/dev/null || { echo "missing in the node rootfs: $t"; return 1; }
  done
  # shellcheck disable=SC2016 # dpkg-query's own ${...} fields
  chroot "$ROOTFS.tmp" dpkg-query -W -f '${Package} ${Version}\n' >"$ROOTFS.tmp.packages"
  rm -rf "$ROOTFS"; mv "$ROOTFS.tmp" "$ROOTFS"; mv "$ROOTFS.tmp.packages" "$ROOTFS.packages"
  grep -E '^(iptables|ipset|iproute2|kmod|conntrack|nftables|runit|procps|net-tools|iputils-ping) ' "$ROOTFS.packages"
  du -sh "$ROOTFS"
}
[ -d "$ROOTFS" ] || rm -f "$STAMPS/rootfs"
step rootfs "$(key_of "$DEBIAN_SUITE $DEBIAN_MIRROR $CALICO_NODE_PACKAGES" "$(declare -f build_rootfs pin_shadow_day)")" \
  "debootstrap $DEBIAN_SUITE rootfs for calico-node ($CALICO_NODE_PACKAGES)" build_rootfs

# node/filesystem of the module as node/Dockerfile.amd64 copies it: etc/ (with confd's conf.d and
# templates, as node/Makefile adds them), sbin/* into /usr/sbin, the licence into /licenses.
# Module zips keep no modes: scripts (a #! line, and etc/rc.local) get 0755, the rest 0644;
# /etc/calico is group-writable (upstream's chmod -R g=u).
NODEFS=$WORK/nodefs
stage_nodefs() {
  local s=$CDIR/node/filesystem f
  rm -rf "$NODEFS.tmp"; mkdir -p "$NODEFS.tmp/usr/sbin" "$NODEFS.tmp/licenses"
  cp -r "$s/etc" "$NODEFS.tmp/etc"
  cp -r "$CDIR/confd/etc/calico/confd/conf.d" "$CDIR/confd/etc/calico/confd/templates" "$NODEFS.tmp/etc/calico/confd/"
  cp "$s"/sbin/* "$NODEFS.tmp/usr/sbin/"
  cp "$CDIR/LICENSE.md" "$NODEFS.tmp/licenses/LICENSE"
  find "$NODEFS.tmp" -type d -exec chmod 0755 {} +
  find "$NODEFS.tmp" -type f -exec chmod 0644 {} +
  while IFS= read -r -d '' f; do
    if [ "$(head -c2 "$f")" = '#!' ]; then chmod 0755 "$f"; fi
  done < <(find "$NODEFS.tmp" -type f -print0)
  chmod 0755 "$NODEFS.tmp/etc/rc.local"
  chmod -R g=u "$NODEFS.tmp/etc/calico"
  chown -R 0:0 "$NODEFS.tmp"
  rm -rf "$NODEFS"; mv "$NODEFS.tmp" "$NODEFS"
  (cd "$NODEFS" && find . -printf '%M %p\n' | sort -k2)
}
[ -d "$NODEFS" ] || rm -f "$STAMPS/nodefs"
step nodefs "$(key_of "$CALICO_MODULE_VERSION" "$(declare -f stage_nodefs)")" \
  "staging node/filesystem (runit services, rc.local, start_runit)" stage_nodefs

# --- images ----------------------------------------------------------------------------------------------
PATH_DEFAULT="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
: >"$WORK/empty"
labels() { # labels <title> <description>: upstream's OCI labels
  printf '{"org.opencontainers.image.description": "%s", "org.opencontainers.image.authors": "maintainers@tigera.io",' "$2"
  printf ' "org.opencontainers.image.source": "https://github.com/projectcalico/calico", "org.opencontainers.image.title": "%s",' "$1"
  printf ' "org.opencontainers.image.vendor": "Project Calico", "org.opencontainers.image.version": "%s", "org.opencontainers.image.licenses": "Apache-2.0"}' "$CV"
}
# calico/base, the base of the cni and kube-controllers images, is a distroless-like UBI image:
# this layer gives root/nobody, the CA bundle, nsswitch, /tmp and the licence.
base_layer() {
  cat <<EOF
    {"comment": "base: passwd, group, nsswitch, CA certificates (Debian ca-certificates), /tmp, /licenses",
     "dirs": [{"path": "/tmp", "mode": 1023}, {"path": "/root", "mode": 448}, {"path": "/etc/ssl/certs", "mode": 493}],
     "files": [{"src": "$CA_BUNDLE", "dst": "/etc/ssl/certs/ca-certificates.crt", "mode": 420},
               {"src": "$CDIR/LICENSE.md", "dst": "/licenses/LICENSE", "mode": 420}],
     "texts": [
       {"dst": "/etc/passwd", "mode": 420, "content": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"},
       {"dst": "/etc/group", "mode": 420, "content": "root:x:0:\nnobody:x:65534:\n"},
       {"dst": "/etc/nsswitch.conf", "mode": 420, "content": "hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\n"}]}
EOF
}
spec() { # spec <name> <layers json> <config json>
  printf '{"ref": "%s", "out": "%s", "created": "%s",\n "layers": [\n%s\n ],\n "config": %s}\n' \
    "$CALICO_REGISTRY/$1:$CV" "$IMAGES/$1.tar" "$CTIME" "$2" "$3" >"$SPECS/$1.json"
}
# node: /bin is /usr/bin in Debian's merged-/usr layout; the binaries go where /bin/calico-node
# (the manifest's probes) resolves, setuid root as upstream.
NBIN=usr/bin; [ -d "$ROOTFS" ] && [ ! -L "$ROOTFS/bin" ] && NBIN=bin
spec node "
    {\"comment\": \"debootstrap --variant=minbase $DEBIAN_SUITE + $CALICO_NODE_PACKAGES; iptables -> legacy\",
     \"rootfs\": \"$ROOTFS\",
     \"exclude\": [\"var/cache/apt/archives\", \"var/lib/apt/lists\", \"var/log\", \"usr/share/man\", \"usr/share/info\",
                   \"usr/share/locale\", \"etc/resolv.conf\", \"etc/hostname\", \"etc/machine-id\",
                   \"var/cache/ldconfig/aux-cache\"]},
    {\"comment\": \"calico node/filesystem $CV: /etc/calico, /etc/rc.local, /etc/service/available, /usr/sbin/start_runit, /licenses\",
     \"rootfs\": \"$NODEFS\"},
    {\"comment\": \"calico-node $CV and mountns (setuid root)\",
     \"files\": [{\"src\": \"$BIN/calico-node\", \"dst\": \"/$NBIN/calico-node\", \"mode\": 2541},
               {\"src\": \"$BIN/mountns\", \"dst\": \"/$NBIN/mountns\", \"mode\": 2541}]}" \
  "{\"cmd\": [\"start_runit\"], \"env\": [\"PATH=$PATH_DEFAULT\", \"SVDIR=/etc/service/enabled\"], \"workingDir\": \"/\",
    \"labels\": $(labels "Calico node" "Calico node handles networking and policy for Calico")}"
cni_files=""
for p in calico install portmap bandwidth tuning loopback host-local; do
  cni_files+="${cni_files:+,
               }{\"src\": \"$BIN/$p\", \"dst\": \"/opt/cni/bin/$p\", \"mode\": 493}"
done
spec cni "$(base_layer),
    {\"comment\": \"calico CNI plugin $CV (calico, calico-ipam -> calico, install), CNI plugins $CNI_PLUGINS_VERSION\",
     \"files\": [$cni_files],
     \"symlinks\": [{\"path\": \"/opt/cni/bin/calico-ipam\", \"target\": \"./calico\"}]}" \
  "{\"cmd\": [\"/opt/cni/bin/install\"], \"env\": [\"PATH=/opt/cni/bin:$PATH_DEFAULT\"], \"workingDir\": \"/opt/cni/bin\",
    \"labels\": $(labels "Calico Networking for CNI" "Calico Networking for CNI includes a CNI networking plugin and CNI IPAM plugin")}"
spec kube-controllers "$(base_layer),
    {\"comment\": \"calico kube-controllers $CV: /usr/bin/kube-controllers, check-status, wrapper; /status, /profiles for uid 999\",
     \"dirs\": [{\"path\": \"/status\", \"mode\": 493}, {\"path\": \"/profiles\", \"mode\": 493}],
     \"files\": [{\"src\": \"$BIN/kube-controllers\", \"dst\": \"/usr/bin/kube-controllers\", \"mode\": 493},
               {\"src\": \"$BIN/check-status\", \"dst\": \"/usr/bin/check-status\", \"mode\": 493},
               {\"src\": \"$BIN/wrapper\", \"dst\": \"/usr/bin/wrapper\", \"mode\": 493},
               {\"src\": \"$WORK/empty\", \"dst\": \"/status/status.json\", \"mode\": 420, \"uid\": 999},
               {\"src\": \"$WORK/empty\", \"dst\": \"/profiles/mem.pprof\", \"mode\": 420, \"uid\": 999},
               {\"src\": \"$WORK/empty\", \"dst\": \"/profiles/cpu.pprof\", \"mode\": 420, \"uid\": 999}]}" \
  "{\"entrypoint\": [\"/usr/bin/wrapper\", \"/usr/bin/kube-controllers\"], \"env\": [\"PATH=$PATH_DEFAULT\"], \"user\": \"999\", \"workingDir\": \"/\",
    \"labels\": $(labels "Calico Kubernetes controllers" "Calico Kubernetes controllers monitor the Kubernetes API and perform actions based on cluster state")}"

image_inputs() { # the stamps of what each image takes
  case $1 in
    node) echo "$STAMPS/rootfs $STAMPS/nodefs $STAMPS/bin-calico-node $STAMPS/bin-mountns" ;;
    cni) echo "$CA_BUNDLE $STAMPS/bin-calico $STAMPS/bin-install $(for e in "${CNI_PLUGINS[@]}"; do echo "$STAMPS/bin-${e%%:*}"; done)" ;;
    kube-controllers) echo "$CA_BUNDLE $STAMPS/bin-kube-controllers $STAMPS/bin-check-status $STAMPS/bin-wrapper" ;;
  esac
}
build_image() { # keeps "<ref> <file> <config digest> <manifest digest>" for artifacts.json
  nice -n "$NICE" "$IMGBUILD" "$SPECS/$1.json" | tee "$SPECS/$1.digest"
  ls -l "$IMAGES/$1.tar"
}
for i in "${IMAGE_NAMES[@]}"; do
  if [ ! -s "$IMAGES/$i.tar" ] || [ ! -s "$SPECS/$i.digest" ]; then rm -f "$STAMPS/image-$i"; fi
  # shellcheck disable=SC2046
  step "image-$i" "$(key_of "$SPECS/$i.json" "$STAMPS/imgbuild" $(image_inputs "$i"))" \
    "building image $CALICO_REGISTRY/$i:$CV" build_image "$i"
done

# --- checksums and metadata --------------------------------------------------------------------------------
if [ "$BUILT" -gt 0 ] || [ ! -s "$OUT/SHA256SUMS" ] || [ ! -s "$OUT/artifacts.json" ]; then
  say "writing SHA256SUMS and artifacts.json"
  FILES=("manifests/$CALICO_MANIFEST")
  for i in "${IMAGE_NAMES[@]}"; do FILES+=("images/$i.tar"); done
  (cd "$OUT" && sha256sum "${FILES[@]}" >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
  pkgver() { sed -n "s/^$1 //p" "$ROOTFS.packages"; }
  {
    printf '{\n  "calicoVersion": "%s",\n  "goVersion": "%s",\n' "$CV" "$GOVER"
    printf '  "calicoModule": {"path": "github.com/projectcalico/calico", "version": "%s", "time": "%s", "gitRevision": "%s"},\n' \
      "$CALICO_MODULE_VERSION" "$CTIME" "$CALICO_GIT_REVISION"
    printf '  "cniPlugins": {"path": "github.com/containernetworking/plugins", "version": "%s"},\n' "$CNI_PLUGINS_VERSION"
    printf '  "manifest": {"file": "manifests/%s", "sha256": "%s"},\n' "$CALICO_MANIFEST" "$(sha256sum "$MANIFEST" | cut -d' ' -f1)"
    printf '  "nodeBase": {"debianSuite": "%s", "packages": "%s", "iptables": "%s", "runit": "%s", "iproute2": "%s"},\n' \
      "$DEBIAN_SUITE" "$CALICO_NODE_PACKAGES" "$(pkgver iptables)" "$(pkgver runit)" "$(pkgver iproute2)"
    printf '  "images": [\n'
    images_json "$SPECS" "$IMAGES" "${IMAGE_NAMES[@]}"
    printf '  ]\n}\n'
  } >"$OUT/artifacts.json.tmp"
  mv "$OUT/artifacts.json.tmp" "$OUT/artifacts.json"
fi
finish_build "$CAL/verify-containerd.sh"
