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

# what a killed run left half-installed is finished before anything counts as installed
dpkg_ready

# a node that has joined at another version is moved by its upgrade step, not here
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | tail -n 1)" = "${1#v}" ]; }
want=1.34.2
have=$(kubeadm version -o short 2>/dev/null || true)
if [ -n "$have" ] && [ "$have" != "v$want" ] && [ -f /etc/kubernetes/kubelet.conf ]; then
  if newer "$have" "v$want"; then
    echo "home-server-1 runs Kubernetes $have, later than v$want; Kubernetes cannot be downgraded: set kubernetes.version to $have or later" >&2
    exit 1
  fi
  # pkgs.k8s.io and registry.k8s.io: the upgrade step fetches what it needs
  echo "home-server-1 runs Kubernetes $have; its upgrade step moves it to v$want, drained, one node at a time"
  exit 0
fi

installed_version() {
  dpkg-query -W -f='${db:Status-Abbrev}|${Version}\n' "$1" 2>/dev/null | awk -F'|' '$1 ~ /^ii/ { print $2 }'
}
pinned=(kubeadm kubelet kubectl)
outdated=()
for pkg in "${pinned[@]}"; do
  if [[ "$(installed_version "$pkg")" != "$want"-* ]]; then outdated+=("$pkg"); fi
done

# the pkgs.k8s.io repository of Kubernetes 1.34, signed by its own key
if [ ! -s /etc/apt/keyrings/kubernetes-apt-keyring.gpg ]; then
  if ! command -v curl >/dev/null 2>&1 || ! command -v gpg >/dev/null 2>&1; then
    apt_get update -q
    apt_get install -y -q --no-install-recommends ca-certificates curl gpg
  fi
  key_tmp=$(mktemp)
  retry 5 10 curl -fsSL --connect-timeout 20 -o "$key_tmp" https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key
  install -d -m 755 /etc/apt/keyrings
  gpg --dearmor --batch --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg "$key_tmp"
  chmod 644 /etc/apt/keyrings/kubernetes-apt-keyring.gpg
  rm -f "$key_tmp"
fi
CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/apt/sources.list.d/kubernetes.list; then
  install -D -m 644 "$homelab_new" /etc/apt/sources.list.d/kubernetes.list
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then echo "apt repository https://pkgs.k8s.io/core:/stable:/v1.34/deb/ configured"; fi

if [ ${#outdated[@]} -gt 0 ]; then
  apt_get update -q
  # pkgs.k8s.io versions look like ${want}-1.1; a held package moves only when named so
  versions=()
  for pkg in "${outdated[@]}"; do versions+=("$pkg=$want-*"); done
  apt_get install -y -q --no-install-recommends --allow-downgrades --allow-change-held-packages "${versions[@]}"
  echo "installed ${outdated[*]} $want on home-server-1"
fi

# held, so that an unattended apt upgrade never moves the cluster to another version
held=$(apt-mark showhold)
for pkg in "${pinned[@]}"; do
  if ! grep -qx "$pkg" <<<"$held"; then
    apt-mark hold "$pkg" >/dev/null
    echo "$pkg held at $want"
  fi
done

# containerd's sandbox (pause) image must be the one kubeadm 1.34.2 expects
pause_image=$(kubeadm config images list --kubernetes-version v1.34.2 2>/dev/null | grep '/pause:' || true)
if [ -z "$pause_image" ]; then echo "kubeadm v1.34.2 names no pause image" >&2; exit 1; fi
# containerd as the kubelet needs it; this is the one place that writes its configuration
containerd_new=$(mktemp)
containerd config default > "$containerd_new"
sed -i -E 's/^([[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*)false/\1true/' "$containerd_new"
grep -Eq '^[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true' "$containerd_new" || { echo "containerd's default config has no SystemdCgroup setting to turn on" >&2; exit 1; }
sed -i -E 's#^([[:space:]]*bin_dir[[:space:]]*=[[:space:]]*).*#\1"/opt/cni/bin"#' "$containerd_new"
grep -Eq '^[[:space:]]*sandbox_image[[:space:]]*=' "$containerd_new" || { echo "containerd's default config has no sandbox_image setting" >&2; exit 1; }
sandbox_line=$(printf 'sandbox_image = "%s"' "$pause_image")
sed -i -E "s|^([[:space:]]*)sandbox_image[[:space:]]*=.*|\1$sandbox_line|" "$containerd_new"
if ! cmp -s "$containerd_new" /etc/containerd/config.toml; then
  install -D -m 644 "$containerd_new" /etc/containerd/config.toml
  systemctl restart containerd
  echo "containerd configured: systemd cgroups, CNI plugins in /opt/cni/bin, sandbox image $pause_image"
fi
rm -f "$containerd_new"
# a record an earlier version of this program kept for BareMetalNode, which no longer writes this file
rm -rf /etc/homelab/containerd
systemctl is-active --quiet containerd || { echo "containerd is not running" >&2; exit 1; }

systemctl enable kubelet >/dev/null 2>&1
