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

newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | tail -n 1)" = "${1#v}" ]; }

want=1.38.0
apiserver_image_version() { sed -n 's#^[[:space:]-]*image:.*/kube-apiserver:\(v[^[:space:]"]*\).*#\1#p' /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null | head -n 1; }
# the kubelet that runs: the binary it was started from, and whether that file was replaced since
running_kubelet() {
  local pid exe
  pid=$(systemctl show -p MainPID --value kubelet 2>/dev/null || echo 0)
  [ "${pid:-0}" != 0 ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$exe" in *" (deleted)") return 1 ;; esac
  "$exe" --version 2>/dev/null | awk '{ print $2 }'
}
upgraded() {
  [ "$(running_kubelet)" = "v$want" ] && curl -sf --max-time 5 http://127.0.0.1:10248/healthz >/dev/null || return 1
}
if upgraded; then
  echo "lab-4 runs Kubernetes v$want"
  exit 0
fi
have=$(kubeadm version -o short 2>/dev/null || true)
if newer "$have" "v$want"; then
  echo "kubeadm $have on lab-4 is later than v$want; Kubernetes cannot be downgraded" >&2
  exit 1
fi
dpkg_ready

# 1. kubeadm of the new version
# Debian packages the kubelet needs (the .deb packages of kubelet and kubeadm would pull these in)
missing_dependencies=""
for pkg in conntrack socat ethtool iptables ca-certificates curl; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep '^ii' >/dev/null || missing_dependencies="$missing_dependencies $pkg"
done
if [ -n "$missing_dependencies" ]; then
  apt_get update -q
  # shellcheck disable=SC2086
  apt_get install -y -q --no-install-recommends $missing_dependencies
  echo "installed$missing_dependencies"
fi

# every file is checked against the mirror's SHA256SUMS before it is used
mirror=http://10.0.0.1:8480/kubernetes-v1.38.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
retry 5 5 curl -fsS --connect-timeout 10 -o "$work/SHA256SUMS" "$mirror/SHA256SUMS" || { echo "cannot read $mirror/SHA256SUMS from lab-4" >&2; exit 1; }
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

for binary in kubeadm kubelet kubectl; do
  if [ -x /usr/local/bin/$binary ] && [ "$(sha256sum < /usr/local/bin/$binary | cut -d' ' -f1)" = "$(sum_of "bin/$binary")" ]; then
    continue
  fi
  fetch "bin/$binary" "$work/$binary"
  install -m 755 "$work/$binary" /usr/local/bin/$binary
  echo "installed $binary from $mirror"
done

CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=/usr/local/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/systemd/system/kubelet.service; then
  install -D -m 644 "$homelab_new" /etc/systemd/system/kubelet.service
  CHANGED=1
fi
rm -f "$homelab_new"
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/systemd/system/kubelet.service.d/10-kubeadm.conf; then
  install -D -m 644 "$homelab_new" /etc/systemd/system/kubelet.service.d/10-kubeadm.conf
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then
  systemctl daemon-reload
  echo "kubelet unit installed"
fi

# the control-plane images go straight into containerd: nothing is pulled from a registry
install -d -m 755 /var/lib/homelab/images
for archive in $(awk '$2 ~ /^images\/[^/]+\.tar$/ { print $2 }' "$work/SHA256SUMS"); do
  name=$(basename "$archive" .tar)
  want_sum=$(sum_of "$archive")
  if [ "$(cat "/var/lib/homelab/images/$name.sha256" 2>/dev/null)" = "$want_sum" ]; then
    continue
  fi
  started=$SECONDS
  fetch "$archive" "$work/$name.tar"
  ctr -n k8s.io images import "$work/$name.tar" >/dev/null
  echo "$want_sum" > "/var/lib/homelab/images/$name.sha256"
  rm -f "$work/$name.tar"
  # the seconds are read by the lab's figures (how much of an up is image import)
  echo "imported image archive $name from $mirror in $((SECONDS - started)) s"
done

# 2. the control plane or the kubelet's configuration
# the kubelet's configuration, from the cluster's
kubeadm upgrade node
echo "kubeadm upgrade node done on lab-4"

# containerd's sandbox (pause) image must be the one kubeadm 1.38.0 expects
pause_image=$(kubeadm config images list --kubernetes-version v1.38.0 2>/dev/null | grep '/pause:' || true)
if [ -z "$pause_image" ]; then echo "kubeadm v1.38.0 names no pause image" >&2; exit 1; fi
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

# 3. the kubelet and kubectl

systemctl daemon-reload
systemctl restart kubelet

# done once the new kubelet (and on a control plane the new API server) answers
waited=0
until upgraded; do
  if [ "$waited" -ge 300 ]; then
    echo "lab-4: the kubelet did not answer at v$want within 300 s (kubelet: $(running_kubelet || echo "not running"))" >&2
    journalctl -u kubelet -n 20 --no-pager >&2 || true
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
echo "lab-4 upgraded to Kubernetes v$want"
