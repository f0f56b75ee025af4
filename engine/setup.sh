#!/usr/bin/env bash
# setup.sh — build the Pulumi engine (CLI, Node.js language host, resource providers) from Go
# modules into .tools/, offline but for the Go module proxy. Idempotent and cached: a warm run
# compares per-component stamps and builds nothing (< 1 s); a cold one takes ~18 min on 2 cores.
# See engine/README.md.
#
#   bash engine/setup.sh            build what is missing or out of date
#   bash engine/setup.sh --force    rebuild everything (the Go build cache still helps)
#   bash engine/setup.sh --recheck  ask the proxy again about versions it refused before
#   bash engine/setup.sh --strict   exit 3 unless every wanted version was built exactly
#
# Env: ENGINE_TOOLS_DIR (default <repo>/.tools), ENGINE_GOCACHE (default ~/.cache/homelab/go-build,
#      outside the checkout so that a fresh clone on the same machine, as CI makes, links in minutes),
#      ENGINE_EXACT=1 (never substitute another version for a wanted one that the proxy refuses).
set -euo pipefail

# The wrappers (the Go modules built here) are the directories beside this script.
WRAPPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$WRAPPERS")
TOOLS=${ENGINE_TOOLS_DIR:-$ROOT/.tools}
BIN=$TOOLS/bin
PHOME=$TOOLS/pulumi-home
PLUGINS=$PHOME/plugins
STAMPS=$TOOLS/stamps
LOGS=$TOOLS/logs
BUILD=$TOOLS/build
FORCE=0 RECHECK=0 STRICT=0
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;; --recheck) RECHECK=1 ;; --strict) STRICT=1 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "setup-engine: unknown option $a" >&2; exit 2 ;;
  esac
done
T0=$(date +%s)
say() { echo "==> $*"; }
warn() { echo "!!! $*" >&2; }
mkdir -p "$BIN" "$PLUGINS" "$STAMPS" "$LOGS" "$BUILD"

# --- prerequisites (Debian packages only if missing) -------------------------------------------
apt_updated=0
need_pkg() { # need_pkg <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing Debian package $2 (for $1)"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need_pkg node nodejs
[ -s /etc/ssl/certs/ca-certificates.crt ] || need_pkg update-ca-certificates ca-certificates
# shellcheck source-path=SCRIPTDIR source=go-env.sh
source "$WRAPPERS/go-env.sh"
if [ -z "$GO" ]; then
  warn "no Go toolchain (go >= 1.26 needed; Debian's golang is too old): install Go at /usr/local/go"; exit 1
fi
GOVER=$("$GO" env GOVERSION)
: "${GOPROXY:=https://proxy.golang.org,direct}"; export GOPROXY

# --- wanted versions, from package.json -----------------------------------------------------------
dep() { (cd "$ROOT" && node -p "require('./package.json').dependencies['$1'] || ''"); }
WANT_PULUMI=$(dep @pulumi/pulumi) WANT_COMMAND=$(dep @pulumi/command)
WANT_RANDOM=$(dep @pulumi/random) WANT_K8S=$(dep @pulumi/kubernetes)
say "wanted (package.json): pulumi $WANT_PULUMI, command $WANT_COMMAND, random $WANT_RANDOM, kubernetes $WANT_K8S"

# pinned <wrapper> <module>: the version the committed wrapper go.mod requires.
pinned() { awk -v m="$2" '$1==m {print $2} $1=="require" && $2==m {print $3}' "$WRAPPERS/$1/go.mod" | head -1; }
# served <module> <version>: does the proxy serve that module version (zip included)?
served() { "$GO" mod download -json "$1@$2" 2>/dev/null | grep -q '"Zip"'; }
# Bump RECIPE when the build flags or steps below change, so stamps built the old way are redone.
RECIPE=1
hash_of() { (cat "$@"; echo "$GOVER recipe=$RECIPE") | sha256sum | cut -c1-16; }
up_to_date() { [ "$FORCE" = 0 ] && [ -f "$STAMPS/$1" ] && [ "$(head -1 "$STAMPS/$1")" = "$2" ]; }
MISSING=() SUBST=()
record() { echo "$*" >>"$TOOLS/ENGINE-VERSIONS.txt.new"; }
: >"$TOOLS/ENGINE-VERSIONS.txt.new"

# resolve <name> <wrapper> <module> <wanted>: sets VER (version to build) and STATE
# (exact|substitute|missing), asking the proxy only when the stamp does not already know.
resolve() {
  local name=$1 wrapper=$2 module=$3 want=$4 pin cache=$STAMPS/$1.resolved
  pin=$(pinned "$wrapper" "$module")
  if [ "$RECHECK" = 0 ] && [ -f "$cache" ] && [ "$(sed -n 1p "$cache")" = "$want $pin" ]; then
    VER=$(sed -n 2p "$cache") STATE=$(sed -n 3p "$cache"); return
  fi
  if [ "$pin" = "$want" ]; then VER=$pin STATE=exact
  elif served "$module" "$want"; then VER=$want STATE=exact
  elif [ "${ENGINE_EXACT:-0}" = 1 ] || [ -z "$pin" ]; then VER="" STATE=missing
  else VER=$pin STATE=substitute
  fi
  printf '%s\n%s\n%s\n' "$want $pin" "$VER" "$STATE" >"$cache"
}

# gobuild <name> <wrapper> <module> <version> <package> <output> <ldflags>: build in a copy of the
# wrapper module (re-pinned to <version> if that differs from the committed pin).
gobuild() {
  local name=$1 wrapper=$2 module=$3 ver=$4 pkg=$5 out=$6 ldflags=$7 dir=$BUILD/$1 t=$SECONDS
  rm -rf "$dir"; mkdir -p "$dir"; cp "$WRAPPERS/$wrapper"/* "$dir"/
  if [ "$(pinned "$wrapper" "$module")" != "$ver" ]; then
    (cd "$dir" && "$GO" mod edit -require="$module@$ver" && GOFLAGS=-mod=mod "$GO" mod tidy) >>"$LOGS/$name.log" 2>&1
  fi
  [ -n "${PREP:-}" ] && (cd "$dir" && eval "$PREP") >>"$LOGS/$name.log" 2>&1
  mkdir -p "$(dirname "$out")"
  if ! (cd "$dir" && "$GO" build -trimpath -p 2 -ldflags "$ldflags" -o "$out.tmp" "$pkg") >>"$LOGS/$name.log" 2>&1; then
    tail -20 "$LOGS/$name.log" >&2; warn "building $name failed (log: $LOGS/$name.log)"; return 1
  fi
  mv -f "$out.tmp" "$out"
  say "built $name in $((SECONDS - t)) s"
}

# --- 1. pulumi CLI ----------------------------------------------------------------------------------
PKG=github.com/pulumi/pulumi/pkg/v3 SDK=github.com/pulumi/pulumi/sdk/v3
USER_PULUMI=""
for p in $(type -aP pulumi 2>/dev/null); do
  [ "$(dirname "$(readlink -f "$p")")" = "$(readlink -f "$BIN")" ] && continue
  if [ "$("$p" version 2>/dev/null)" = "v$WANT_PULUMI" ]; then USER_PULUMI=$p; break; fi
done
if [ -n "$USER_PULUMI" ]; then
  say "using your pulumi v$WANT_PULUMI at $USER_PULUMI (not building the CLI)"
  rm -f "$BIN/pulumi"
  record "pulumi	want=$WANT_PULUMI	built=$WANT_PULUMI	exact	$USER_PULUMI (already installed)"
else
  resolve pulumi pulumi "$PKG" "v$WANT_PULUMI"
  KEY=$(echo "$VER" | hash_of "$WRAPPERS/pulumi/go.mod" "$WRAPPERS/pulumi/go.sum" -)
  if up_to_date pulumi "$KEY" && [ -x "$BIN/pulumi" ]; then
    say "pulumi $VER: up to date"
  else
    [ "$STATE" = substitute ] && warn "the Go module proxy does not serve $PKG@v$WANT_PULUMI; building $VER instead"
    say "building pulumi $VER from Go modules (cold: ~6 min on 2 cores; log: $LOGS/pulumi.log)"
    : >"$LOGS/pulumi.log"
    PREP="" gobuild pulumi pulumi "$PKG" "$VER" "$PKG/cmd/pulumi" "$BIN/pulumi" \
      "-s -w -X $SDK/go/common/version.Version=$VER"
    echo "$KEY" >"$STAMPS/pulumi"
  fi
  [ "$STATE" = substitute ] && SUBST+=("pulumi CLI: wanted v$WANT_PULUMI (not served by the proxy), built $VER")
  record "pulumi	want=v$WANT_PULUMI	built=$VER	$STATE	$PKG/cmd/pulumi@$VER"
fi

# --- 2. Node.js language host (our adapter) and the dynamic-provider shim ----------------------------
# shellcheck disable=SC2015 # empty unless USER_PULUMI is set
LH_DIR=$( [ -n "$USER_PULUMI" ] && dirname "$(readlink -f "$USER_PULUMI")" || true)
if [ -n "$LH_DIR" ] && [ -x "$LH_DIR/pulumi-language-nodejs" ]; then
  say "using the pulumi-language-nodejs next to your pulumi"
  rm -f "$BIN/pulumi-language-nodejs" "$BIN/pulumi-resource-pulumi-nodejs"
else
  LHVER=$(pinned pulumi-language-nodejs "$SDK")
  KEY=$(hash_of "$WRAPPERS"/pulumi-language-nodejs/*)
  if up_to_date pulumi-language-nodejs "$KEY" && [ -x "$BIN/pulumi-language-nodejs" ]; then
    say "pulumi-language-nodejs (adapter, sdk $LHVER): up to date"
  else
    say "building pulumi-language-nodejs (homelab adapter on sdk/v3 $LHVER)"
    : >"$LOGS/pulumi-language-nodejs.log"
    PREP="" gobuild pulumi-language-nodejs pulumi-language-nodejs "$SDK" "$LHVER" . \
      "$BIN/pulumi-language-nodejs" "-s -w -X main.version=${LHVER#v}"
    echo "$KEY" >"$STAMPS/pulumi-language-nodejs"
  fi
  record "pulumi-language-nodejs	want=-	built=${LHVER#v}	adapter	engine/pulumi-language-nodejs (sdk/v3 $LHVER)"
  # Dynamic providers (pulumi.dynamic.Resource) run through this plugin, which upstream ships as a
  # two-line script next to the CLI.
  cat >"$BIN/pulumi-resource-pulumi-nodejs" <<'EOF'
#!/bin/sh
exec node "$(node -p "require.resolve('@pulumi/pulumi/cmd/dynamic-provider', {paths: [process.cwd()]})")" "$@"
EOF
  chmod +x "$BIN/pulumi-resource-pulumi-nodejs"
fi

# --- 3. resource providers --------------------------------------------------------------------------
# install_plugin <name> <version> <binary>: $PULUMI_HOME/plugins/resource-<name>-v<version>/.
# If the version differs from the wanted one, also put it on PATH (.tools/bin), where the engine
# takes it for any requested version (with a "using ... from $PATH" warning).
install_plugin() {
  local name=$1 ver=${2#v} bin=$3 want=${4#v} dir
  dir=$PLUGINS/resource-$name-v$ver
  mkdir -p "$dir"; ln -f "$bin" "$dir/pulumi-resource-$name" 2>/dev/null || cp -f "$bin" "$dir/pulumi-resource-$name"
  rm -f "$dir.partial" "$BIN/pulumi-resource-$name"
  if [ "$ver" != "$want" ]; then ln -s "$dir/pulumi-resource-$name" "$BIN/pulumi-resource-$name"; fi
}

provider() { # provider <name> <module> <wanted> <wrapper or ""> <version package> <prep>
  local name=$1 module=$2 want=$3 wrapper=$4 verpkg=$5 prep=$6 out key
  if [ -z "$wrapper" ]; then
    local cache=$STAMPS/$name.resolved
    if [ "$RECHECK" = 1 ] || [ ! -f "$cache" ] || [ "$(sed -n 1p "$cache")" != "v$want" ]; then
      if served "$module" "v$want"; then printf 'v%s\nserved\n' "$want"; else printf 'v%s\nrefused\n' "$want"; fi >"$cache"
    fi
    if [ "$(sed -n 2p "$cache")" = served ]; then
      warn "$module@v$want is now served by the proxy, but there is no wrapper for it in engine/ yet"
    fi
    warn "pulumi-resource-$name v$want: NOT BUILT — the Go module proxy does not serve $module@v$want"
    MISSING+=("$name v$want ($module not served by the proxy)")
    rm -f "$BIN/pulumi-resource-$name"
    record "$name	want=v$want	built=-	missing	$module@v$want not served"
    return 0
  fi
  resolve "$name" "$wrapper" "$module" "v$want"
  if [ "$STATE" = missing ]; then
    warn "pulumi-resource-$name v$want: NOT BUILT — $module@v$want is not served (ENGINE_EXACT=1)"
    MISSING+=("$name v$want"); record "$name	want=v$want	built=-	missing	$module@v$want not served"; return 0
  fi
  local pver=${VER#v}
  out=$TOOLS/build/out/pulumi-resource-$name-$pver
  key=$(echo "$VER" | hash_of "$WRAPPERS/$wrapper"/*)
  if up_to_date "$name" "$key" && [ -x "$out" ]; then
    say "pulumi-resource-$name $pver: up to date"
  else
    [ "$STATE" = substitute ] && warn "the Go module proxy does not serve $module@v$want; building $VER instead"
    say "building pulumi-resource-$name $pver from Go modules (cold: ~12 min for kubernetes; log: $LOGS/$name.log)"
    : >"$LOGS/$name.log"
    PREP=$prep gobuild "$name" "$wrapper" "$module" "$VER" . "$out" "-s -w -X $verpkg.Version=$pver"
    echo "$key" >"$STAMPS/$name"
  fi
  install_plugin "$name" "$pver" "$out" "$want"
  [ "$STATE" = substitute ] && SUBST+=("$name: wanted v$want (not served by the proxy), built $pver (on PATH for any version)")
  record "$name	want=v$want	built=$pver	$STATE	$module@$VER"
}

# own_provider <name> <wanted>: the proxy serves no version of upstream's command and random
# providers, so engine/pulumi-resource-<name> is homelab's own implementation of the same
# provider protocol for the resources homelab uses (engine/README.md), reporting the npm version.
own_provider() {
  local name=$1 want=${2#v} wrapper=pulumi-resource-$1 out key t=$SECONDS
  out=$TOOLS/build/out/pulumi-resource-$name-$want
  key=$(echo "$want" | hash_of "$WRAPPERS/$wrapper"/*)
  if up_to_date "$name" "$key" && [ -x "$out" ]; then
    say "pulumi-resource-$name $want (homelab implementation): up to date"
  else
    say "building pulumi-resource-$name $want (homelab implementation of the provider protocol; log: $LOGS/$name.log)"
    : >"$LOGS/$name.log"
    if ! (cd "$WRAPPERS/$wrapper" && CGO_ENABLED=0 "$GO" build -mod=mod -trimpath -p 2 -ldflags "-s -w -X main.Version=$want" -o "$out.tmp" .) >>"$LOGS/$name.log" 2>&1; then
      tail -20 "$LOGS/$name.log" >&2; warn "building $name failed (log: $LOGS/$name.log)"; return 1
    fi
    mv -f "$out.tmp" "$out"
    echo "$key" >"$STAMPS/$name"
    say "built $name in $((SECONDS - t)) s"
  fi
  install_plugin "$name" "$want" "$out" "$want"
  record "$name	want=v$want	built=$want	own	engine/$wrapper (upstream module not served)"
}
own_provider command "$WANT_COMMAND"
own_provider random "$WANT_RANDOM"
K8S=github.com/pulumi/pulumi-kubernetes/provider/v4
# Upstream's build writes these two embeds with `go generate` (cmd/pulumi-resource-kubernetes/
# generate.go: schema.json with "version" set, and terraform-mapping.json, re-serialized); they are
# not in the module zip, so produce them the same way from the module's own files.
# shellcheck disable=SC2016 # evaluated later, in gobuild (PREP), where GO, VER and src are set
K8S_PREP='src=$("$GO" mod download -json '$K8S' | node -p "JSON.parse(require(\"fs\").readFileSync(0)).Dir")/cmd/pulumi-resource-kubernetes;
  V=${VER#v} node -e "const fs=require(\"fs\");const s=JSON.parse(fs.readFileSync(process.argv[1]));s.version=process.env.V;fs.writeFileSync(\"schema-embed.json\",JSON.stringify(s));fs.writeFileSync(\"terraform-mapping-embed.json\",JSON.stringify(JSON.parse(fs.readFileSync(process.argv[2]))))" "$src/schema.json" "$src/terraform-mapping.json"'
provider kubernetes "$K8S" "$WANT_K8S" pulumi-resource-kubernetes "$K8S/pkg/version" "$K8S_PREP"

mv -f "$TOOLS/ENGINE-VERSIONS.txt.new" "$TOOLS/ENGINE-VERSIONS.txt"

# --- summary -----------------------------------------------------------------------------------------
for s in "${SUBST[@]}"; do warn "SUBSTITUTED: $s"; done
for m in "${MISSING[@]}"; do warn "MISSING: $m — programs using it fail with \"no resource plugin\" (no download is attempted)"; done
say "engine ready in $(( $(date +%s) - T0 )) s: binaries in $BIN, plugins in $PLUGINS, versions in $TOOLS/ENGINE-VERSIONS.txt — run: source engine/env.sh"
if [ "$STRICT" = 1 ] && [ $(( ${#MISSING[@]} + ${#SUBST[@]} )) -gt 0 ]; then exit 3; fi
exit 0
