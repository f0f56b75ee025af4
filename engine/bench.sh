#!/usr/bin/env bash
# bench.sh — time engine/setup.sh (npm run bench -- engine).
#
#   bash engine/bench.sh                  warm setup time against the real .tools/ (builds first if needed)
#   bash engine/bench.sh --cold           cold build into a temp dir (fresh .tools and Go build cache;
#                                         the real .tools/ and caches are not touched), then a warm run there
#   bash engine/bench.sh --cold --cold-modules   also a fresh Go module cache (times the downloads too)
#   --keep                                keep the temp dir of a cold run
# Cold builds take ~25 min on 2 cores: run them in the background with output to a log file.
set -euo pipefail
ENGINE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COLD=0 COLD_MODULES=0 KEEP=0
for a in "$@"; do
  case $a in
    --cold) COLD=1 ;; --cold-modules) COLD_MODULES=1 ;; --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "bench-engine: unknown option $a" >&2; exit 2 ;;
  esac
done
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

if [ "$COLD" = 1 ]; then
  TMP=$(mktemp -d /tmp/engine-cold.XXXXXX)
  cleanup() { if [ "$KEEP" = 0 ]; then chmod -R u+w "$TMP" 2>/dev/null || true; rm -rf "$TMP"; fi; }
  trap cleanup EXIT
  export ENGINE_TOOLS_DIR=$TMP/tools ENGINE_GOCACHE=$TMP/go-build
  [ "$COLD_MODULES" = 1 ] && export GOMODCACHE=$TMP/gomod
  echo "==> cold build into $TMP (fresh Go build cache$([ "$COLD_MODULES" = 1 ] && echo ' and module cache'); log: $TMP/cold.log)"
  t0=$(now); bash "$ENGINE/setup.sh" --recheck >"$TMP/cold.log" 2>&1 || { tail -30 "$TMP/cold.log"; exit 1; }
  t1=$(now)
  grep -E '^==> built ' "$TMP/cold.log" | sed 's/^/    /'
  echo "cold build: $(secs "$t0" "$t1") s ($(nproc) cores, $(go env GOVERSION 2>/dev/null || /usr/local/go/bin/go env GOVERSION))"
  t0=$(now); bash "$ENGINE/setup.sh" >"$TMP/warm.log" 2>&1; t1=$(now)
  echo "warm setup (same dir): $(secs "$t0" "$t1") s"
  echo "build cache size: $(du -sh "$ENGINE_GOCACHE" | cut -f1)"
else
  bash "$ENGINE/setup.sh" >/dev/null 2>&1 || bash "$ENGINE/setup.sh"
  for i in 1 2 3; do
    t0=$(now); bash "$ENGINE/setup.sh" >/dev/null 2>&1; t1=$(now)
    echo "warm setup run $i: $(secs "$t0" "$t1") s"
  done
fi
