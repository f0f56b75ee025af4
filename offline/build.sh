#!/usr/bin/env bash
# build.sh [PART...] [--force] [--verify] — the offline builds, in this order: kubernetes, calico,
# rook, cephcsi-lite (after rook: it adds its two images to the Rook directory and completes its
# SHA256SUMS). No PART: all four (npm run build:offline). The options go to each build; a build that
# fails stops the rest. See README.md beside this file.
#
#   bash offline/build.sh                       everything the lab stack needs
#   bash offline/build.sh kubernetes calico     Kubernetes and Calico only
#   bash offline/build.sh rook cephcsi-lite     Rook Ceph (npm run build:offline:rook)
set -euo pipefail
OFF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ORDER=(kubernetes calico rook cephcsi-lite)
parts=() options=()
for a in "$@"; do
  case $a in
    kubernetes|calico|rook|cephcsi-lite) parts+=("$a") ;;
    --force|--verify) options+=("$a") ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "offline/build.sh: unknown part or option $a (parts: ${ORDER[*]}; options: --force, --verify)" >&2; exit 2 ;;
  esac
done
[ ${#parts[@]} -gt 0 ] || parts=("${ORDER[@]}")
for part in "${ORDER[@]}"; do
  case " ${parts[*]} " in
    *" $part "*) bash "$OFF/build-$part.sh" "${options[@]}" ;;
  esac
done
