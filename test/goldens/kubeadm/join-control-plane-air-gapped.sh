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

# secrets arrive on stdin, never in the command line; hide_secrets masks them in kubeadm's output
IFS= read -r bootstrap_token || true
if ! [[ "$bootstrap_token" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]]; then
  echo "stdin did not carry a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})" >&2
  exit 1
fi
IFS= read -r certificate_key || true
if ! [[ "$certificate_key" =~ ^[0-9a-f]{64}$ ]]; then
  echo "stdin did not carry a certificate key (64 hex digits)" >&2
  exit 1
fi
hide_secrets() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line//"$bootstrap_token"/[bootstrap token]}
    line=${line//"${bootstrap_token#*.}"/[token secret]}
    if [ -n "$certificate_key" ]; then line=${line//"$certificate_key"/[certificate key]}; fi
    printf '%s\n' "$line"
  done
}

# done means the join completed: /etc/kubernetes/homelab-join.done, written after it, with kubelet.conf still there
if [ -f /etc/kubernetes/homelab-join.done ] && [ ! -f /etc/kubernetes/kubelet.conf ]; then rm -f /etc/kubernetes/homelab-join.done; fi
if [ -f /etc/kubernetes/homelab-join.done ]; then
  echo "home-server-2 has already joined the cluster"
  exit 0
fi
if [ -f /etc/kubernetes/kubelet.conf ]; then
  # kubelet.conf without the record: a join cut short, or one made before the record existed
  joined() { kubectl --kubeconfig /etc/kubernetes/kubelet.conf --request-timeout=10s get node home-server-2 -o jsonpath='{.metadata.labels}' 2>/dev/null | grep -F '"node-role.kubernetes.io/control-plane"' >/dev/null && curl -ksf --max-time 10 https://127.0.0.1:6443/readyz >/dev/null; }
  if retry 12 10 joined; then
    touch /etc/kubernetes/homelab-join.done
    echo "home-server-2 had joined the cluster before"
    exit 0
  fi
  echo "the last kubeadm join on home-server-2 did not complete: resetting it and joining again" >&2
  kubeadm reset -f --cri-socket unix:///var/run/containerd/containerd.sock >/dev/null 2>&1 || true
fi
ca_cert_hash=sha256:abababababababababababababababababababababababababababababababab
if ! [[ "$ca_cert_hash" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "no CA certificate hash from the admin kubeconfig (got '$ca_cert_hash')" >&2
  exit 1
fi

# the file on disk keeps placeholders; the filled copy is root-only and gone on exit
CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.100:6443
    token: __HOMELAB_BOOTSTRAP_TOKEN__
    caCertHashes:
      - sha256:abababababababababababababababababababababababababababababababab
    unsafeSkipCAVerification: false
nodeRegistration:
  name: home-server-2
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: 10.0.0.102
  taints: []
  ignorePreflightErrors:
    - SystemVerification
  imagePullPolicy: Never
controlPlane:
  localAPIEndpoint:
    advertiseAddress: 10.0.0.102
    bindPort: 6443
  certificateKey: __HOMELAB_CERTIFICATE_KEY__
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/homelab/kubeadm/join.yaml; then
  install -D -m 644 "$homelab_new" /etc/homelab/kubeadm/join.yaml
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then echo "/etc/homelab/kubeadm/join.yaml written"; fi
kubeadm_config=$(mktemp)
trap 'rm -f "$kubeadm_config"' EXIT
config_text=$(cat /etc/homelab/kubeadm/join.yaml)
config_text=${config_text//__HOMELAB_BOOTSTRAP_TOKEN__/$bootstrap_token}
config_text=${config_text//__HOMELAB_CERTIFICATE_KEY__/$certificate_key}
printf '%s\n' "$config_text" > "$kubeadm_config"

if ! kubeadm join --config "$kubeadm_config" 2>&1 | hide_secrets; then
  echo "kubeadm join failed on home-server-2; resetting so that the next run starts clean" >&2
  kubeadm reset -f --cri-socket unix:///var/run/containerd/containerd.sock >/dev/null 2>&1 || true
  exit 1
fi
touch /etc/kubernetes/homelab-join.done
echo "home-server-2 joined the cluster as a control plane"
