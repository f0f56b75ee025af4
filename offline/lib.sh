# shellcheck shell=bash
# Shared by the offline builds (build-*.sh beside it), which source it first: their preamble
# (options, the cache, the lock), messages, Debian prerequisites, the Go toolchain settings, the
# cached steps and the image writer. Sets OFF (this directory), ROOT (the checkout), CACHE and NICE.
OFF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # for the builds
ROOT=$(dirname "$OFF")
# shellcheck disable=SC2034 # for the builds
CACHE=${HOMELAB_OFFLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/offline}
NICE=${NICE:-10}
say() { echo "==> $*"; }
die() { echo "!!! $*" >&2; exit 1; }

# --- preamble -----------------------------------------------------------------------------------------
# offline_args <name> "$@": FORCE and VERIFY from --force and --verify; -h prints the script's header
# comment; anything else is refused as "<name>: unknown option ...". <name> also labels offline_start's
# message.
offline_args() {
  local a
  BUILD_NAME=$1 FORCE=0 VERIFY=0
  shift
  for a in "$@"; do
    case $a in
      --force) FORCE=1 ;; --verify) VERIFY=1 ;;
      -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
      *) echo "$BUILD_NAME: unknown option $a" >&2; exit 2 ;;
    esac
  done
}

# offline_start <lock file> <times file> <directories...>: makes the directories, takes the lock
# (waiting, and saying so, while another build holds it), starts the clock (T0) and empties the file
# of this run's step times (TIMES). The lock stays held, on fd 9, until the build exits.
offline_start() {
  local lock=$1
  TIMES=$2
  shift 2
  mkdir -p "$@"
  exec 9>"$lock"
  flock -n 9 || { echo "$BUILD_NAME: another build holds $lock; waiting" >&2; flock 9; }
  T0=$(date +%s)
  : >"$TIMES"
}

apt_updated=0
need_pkg() { # need_pkg <test command...> -- <debian packages...>
  local t=() p=()
  while [ "$1" != -- ]; do t+=("$1"); shift; done; shift; p=("$@")
  "${t[@]}" >/dev/null 2>&1 && return 0
  say "installing Debian package(s) ${p[*]}"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${p[@]}" >/dev/null
}

# use_go <minimum version, for the message>: sets GO and GOVER; static, module-pinned builds.
use_go() {
  GO=$(command -v go || true); [ -n "$GO" ] || GO=/usr/local/go/bin/go
  [ -x "$GO" ] || die "no Go toolchain (go >= $1 needed): install Go at /usr/local/go"
  GOVER=$("$GO" env GOVERSION)
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly"
  export GOCACHE=${OFFLINE_GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/go-build}
  : "${GOPROXY:=https://proxy.golang.org,direct}"; export GOPROXY
}

# module_info <dir> <module@version>: "<module dir> <RFC 3339 time>" from the module cache, asked from
# <dir> (downloads the module if missing; a version the proxy refuses fails here, with the proxy's message).
module_info() {
  local j dir info
  j=$(cd "$1" && "$GO" mod download -json "$2") || die "the Go module proxy does not serve $2"
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$j"); info=$(sed -n 's/^\t"Info": "\(.*\)",$/\1/p' <<<"$j")
  [ -d "$dir" ] || die "no module directory for $2: $j"
  echo "$dir $(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")"
}

# --- stamps ---------------------------------------------------------------------------------------
# Bump RECIPE when the build flags or steps change, so everything built the old way is redone.
RECIPE=${RECIPE:-1}
# A key is made of the files' contents (not their paths, so a checkout elsewhere or a worktree shares
# the cache) and of the other arguments as text, in argument order.
key_of() { { echo "recipe=$RECIPE $GOVER"; for x in "$@"; do if [ -f "$x" ]; then sha256sum <"$x"; else echo "$x"; fi; done; } | sha256sum | cut -c1-20; }
fresh() { [ "$FORCE" = 0 ] && [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp() { echo "$2" >"$STAMPS/$1"; }
STEP=0 NSTEPS=0 BUILT=0
# step <name> <key> <description> <function...>: run the function unless the stamp says it is done.
step() {
  local n=$1 k=$2 what=$3 t rc; shift 3
  STEP=$((STEP + 1))
  if fresh "$n" "$k"; then
    echo "    [$STEP/$NSTEPS] $what: cached"
    printf '%s\tcached\t0\n' "$n" >>"$TIMES"
    return 0
  fi
  say "[$STEP/$NSTEPS] $what…"
  t=$(date +%s)
  # a subshell outside any condition: inside one, set -e would be off and a step failing halfway stamped
  set +e; (set -e; "$@") >"$LOGS/$n.log" 2>&1; rc=$?; set -e
  if [ "$rc" != 0 ]; then
    tail -30 "$LOGS/$n.log" >&2
    die "$what failed (log: $LOGS/$n.log)"
  fi
  stamp "$n" "$k"
  BUILT=$((BUILT + 1))
  printf '%s\tbuilt\t%s\n' "$n" "$(($(date +%s) - t))" >>"$TIMES"
  echo "    done in $(($(date +%s) - t)) s"
}

# --- the image writer ---------------------------------------------------------------------------------
# imgbuild_step: imgbuild/ (go-containerregistry), which writes every build's images from a JSON spec,
# built into WORK/tools/imgbuild (IMGBUILD) as the step "imgbuild".
imgbuild_step() {
  IMGBUILD=$WORK/tools/imgbuild
  [ -x "$IMGBUILD" ] || rm -f "$STAMPS/imgbuild"
  step imgbuild "$(key_of "$OFF"/imgbuild/{go.mod,go.sum,main.go})" "building imgbuild (go-containerregistry)" build_imgbuild
}
build_imgbuild() { (cd "$OFF/imgbuild" && "$GO" build -trimpath -o "$IMGBUILD.tmp" .) && mv -f "$IMGBUILD.tmp" "$IMGBUILD"; }

# --- rootfs ------------------------------------------------------------------------------------------
# pin_shadow_day <dir> <date>: shadow's "last change" field is the day of the build; set it to a fixed
# day so rebuilds give the same layer.
pin_shadow_day() {
  local r=$1 day f
  day=$(($(date -u -d "$2" +%s) / 86400))
  for f in "$r/etc/shadow" "$r/etc/shadow-"; do
    [ -f "$f" ] || continue
    awk -F: -v OFS=: -v d="$day" '$3 != "" { $3 = d } { print }' "$f" >"$f.new" && cat "$f.new" >"$f" && rm "$f.new"
  done
}

# --- results ----------------------------------------------------------------------------------------
# images_json <specs dir> <images dir> <names...>: the entries of artifacts.json's "images" array, from
# the digest line imgbuild printed for each image.
images_json() {
  local specs=$1 images=$2 i n=0 sep ref cfg dig; shift 2
  for i in "$@"; do
    read -r ref _ cfg dig <"$specs/$i.digest"
    n=$((n + 1)); sep=,; [ "$n" = "$#" ] && sep=
    printf '    {"ref": "%s", "file": "images/%s.tar", "size": %s, "imageId": "%s", "manifestDigest": "%s"}%s\n' \
      "$ref" "$i" "$(stat -c %s "$images/$i.tar")" "$cfg" "$dig" "$sep"
  done
}

# finish_build <verify script>: keeps this run's step times in OUT/build-times.txt, says what was built
# and where, and runs the verify script on OUT when --verify was given.
finish_build() {
  local total
  mv -f "$TIMES" "$OUT/build-times.txt"
  total=$(($(date +%s) - T0))
  if [ "$BUILT" = 0 ]; then
    say "everything cached: $OUT ($(du -sh "$OUT" | cut -f1)) in ${total} s"
  else
    say "built $BUILT step(s) in ${total} s: $OUT ($(du -sh "$OUT" | cut -f1); work $(du -sh "$WORK" | cut -f1))"
  fi
  (cd "$OUT" && ls -l images/*.tar manifests/*)
  if [ "$VERIFY" = 1 ]; then bash "$1" "$OUT"; fi
}
