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

dpkg_ready() {
  local waited=0 output
  until output=$(dpkg --configure -a 2>&1); do
    if ! grep -qi 'lock' <<<"$output" || [ "$waited" -ge 600 ]; then
      printf '%s\n' "$output" >&2
      if [ "$waited" -ge 600 ]; then
        echo "dpkg's lock on $(hostname) was still held after 600 s (unattended-upgrades?)" >&2
      else
        echo "dpkg --configure -a failed on $(hostname)" >&2
      fi
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
}
packages_installed() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep '^ii' >/dev/null || return 1
  done
}
apt_get() {
  dpkg_ready
  retry 5 10 apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# hostname
if [ "$(cat /etc/hostname 2>/dev/null)" != home-server-1 ] || [ "$(hostname)" != home-server-1 ]; then
  echo home-server-1 > /etc/hostname
  hostnamectl set-hostname home-server-1 2>/dev/null || hostname home-server-1
  echo "hostname set to home-server-1"
fi

# swap off now and at boot (kubelet refuses to run with swap by default)
if [ -n "$(swapon --noheadings --show=NAME 2>/dev/null)" ]; then
  swapoff -a
  echo "swap turned off"
fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
  sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# disabled by homelab: \1/' /etc/fstab
  echo "swap entries in /etc/fstab commented out"
fi

# kernel modules for container networking, now and at boot
CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
overlay
br_netfilter
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/modules-load.d/homelab-kubernetes.conf; then
  install -D -m 644 "$homelab_new" /etc/modules-load.d/homelab-kubernetes.conf
  CHANGED=1
fi
rm -f "$homelab_new"
# present means loaded or built in: look for what each module provides
module_present() {
  case $1 in
    overlay) grep -qw overlay /proc/filesystems ;;
    br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ;;
    *) [ -d "/sys/module/$1" ] ;;
  esac
}
for module in overlay br_netfilter; do
  if ! module_present "$module"; then
    modprobe "$module" || { echo "kernel module $module is not loaded and cannot be loaded" >&2; exit 1; }
  fi
done

# sysctls Kubernetes networking needs
CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/sysctl.d/99-homelab-kubernetes.conf; then
  install -D -m 644 "$homelab_new" /etc/sysctl.d/99-homelab-kubernetes.conf
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ] || [ "$(sysctl -n net.bridge.bridge-nf-call-iptables)" != 1 ] || [ "$(sysctl -n net.bridge.bridge-nf-call-ip6tables)" != 1 ] || [ "$(sysctl -n net.ipv4.ip_forward)" != 1 ]; then
  sysctl -q -p /etc/sysctl.d/99-homelab-kubernetes.conf
  [ "$(sysctl -n net.bridge.bridge-nf-call-iptables)" = 1 ] || { echo "sysctl net.bridge.bridge-nf-call-iptables is not 1" >&2; exit 1; }
  [ "$(sysctl -n net.bridge.bridge-nf-call-ip6tables)" = 1 ] || { echo "sysctl net.bridge.bridge-nf-call-ip6tables is not 1" >&2; exit 1; }
  [ "$(sysctl -n net.ipv4.ip_forward)" = 1 ] || { echo "sysctl net.ipv4.ip_forward is not 1" >&2; exit 1; }
  echo "kubernetes sysctls applied"
fi

# no apt proxy configured
rm -f /etc/apt/apt.conf.d/01homelab-proxy

# containerd, installed and running; its configuration is KubeadmCluster's (with the pause image its
# kubeadm expects). A package a killed run left half-configured is finished first, and only a fully
# installed one counts (Debian's, or Docker's containerd.io)
dpkg_ready
if ! packages_installed containerd && ! packages_installed containerd.io; then
  apt_get update -q
  apt_get install -y -q --no-install-recommends containerd
  echo "containerd installed"
fi
systemctl enable --now containerd >/dev/null 2>&1
systemctl is-active --quiet containerd || { echo "containerd is not running" >&2; exit 1; }

echo "home-server-1 is prepared for Kubernetes"
