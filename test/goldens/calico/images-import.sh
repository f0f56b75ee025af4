#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

if ! command -v ctr >/dev/null 2>&1; then
  echo "ctr is missing on home-server-1; Calico's images go into containerd, which the cluster's nodes run" >&2
  exit 1
fi

# every file is checked against the mirror's SHA256SUMS before it is used
mirror=http://192.168.77.1:8480/calico-v3.31.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
retry 5 5 curl -fsS --connect-timeout 10 -o "$work/SHA256SUMS" "$mirror/SHA256SUMS" || { echo "cannot read $mirror/SHA256SUMS from home-server-1" >&2; exit 1; }
sum_of() { awk -v path="$1" '$2 == path { print $1 }' "$work/SHA256SUMS"; }
fetch() { # fetch PATH DEST
  local want_sum
  want_sum=$(sum_of "$1")
  if [ -z "$want_sum" ]; then echo "$1 is not listed in $mirror/SHA256SUMS" >&2; exit 1; fi
  retry 5 5 curl -fsS --connect-timeout 10 -o "$2" "$mirror/$1" || { echo "cannot download $mirror/$1" >&2; exit 1; }
  if ! echo "$want_sum  $2" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "$mirror/$1 does not match its SHA256SUMS entry" >&2
    exit 1
  fi
}

# a stamp whose image is gone (removed by hand, or by the kubelet's image GC) must not skip the import
for image in quay.io/calico/cni:v3.31.0 quay.io/calico/node:v3.31.0 quay.io/calico/kube-controllers:v3.31.0; do
  if ! ctr -n k8s.io images ls -q | grep -Fx "$image" >/dev/null; then
    rm -f /var/lib/homelab/images/calico-*.sha256
    break
  fi
done

# Calico's images go straight into containerd before calico-node starts here: nothing is pulled from a registry
install -d -m 755 /var/lib/homelab/images
for archive in $(awk '$2 ~ /^images\/[^/]+\.tar$/ { print $2 }' "$work/SHA256SUMS"); do
  name=$(basename "$archive" .tar)
  want_sum=$(sum_of "$archive")
  if [ "$(cat "/var/lib/homelab/images/calico-$name.sha256" 2>/dev/null)" = "$want_sum" ]; then
    continue
  fi
  started=$SECONDS
  fetch "$archive" "$work/$name.tar"
  ctr -n k8s.io images import "$work/$name.tar" >/dev/null
  echo "$want_sum" > "/var/lib/homelab/images/calico-$name.sha256"
  rm -f "$work/$name.tar"
  # the seconds are read by the lab's figures (how much of an up is image import)
  echo "imported image archive $name from $mirror in $((SECONDS - started)) s"
done

# the archives must hold the images Calico 3.31.0 runs
for image in quay.io/calico/cni:v3.31.0 quay.io/calico/node:v3.31.0 quay.io/calico/kube-controllers:v3.31.0; do
  if ! ctr -n k8s.io images ls -q | grep -Fx "$image" >/dev/null; then
    echo "$image is not in containerd on home-server-1 after importing $mirror/images/*.tar; does the mirror hold Calico 3.31.0 (calico.version)?" >&2
    exit 1
  fi
done
echo "Calico 3.31.0 images are in containerd on home-server-1"
