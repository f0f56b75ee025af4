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

kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

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

[ -f /etc/kubernetes/homelab-init.done ] || { echo "home-server-1 has not completed kubeadm init" >&2; exit 1; }

# tokens expire after 24 h and a node may join months after init: keep one valid for 2 h more
token_id=${bootstrap_token%%.*}
expiration=$(kc -n kube-system get secret "bootstrap-token-$token_id" -o jsonpath='{.data.expiration}' 2>/dev/null | base64 -d 2>/dev/null || true)
if [ -n "$expiration" ] && [ "$(date -d "$expiration" +%s)" -gt "$(( $(date +%s) + 7200 ))" ]; then
  echo "bootstrap token $token_id is valid until $expiration"
else
  # the Secret kubeadm token create would make; a here-document goes to kubectl's stdin, so neither
  # the token nor its secret half is in any command line
  create_token() {
    kc apply -f - >/dev/null <<HOMELAB_TOKEN
apiVersion: v1
kind: Secret
type: bootstrap.kubernetes.io/token
metadata:
  name: bootstrap-token-$token_id
  namespace: kube-system
stringData:
  description: "homelab: joins of the nodes in the stack config"
  token-id: $token_id
  token-secret: ${bootstrap_token#*.}
  expiration: $(date -u -d '+24 hours' +%Y-%m-%dT%H:%M:%SZ)
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token
HOMELAB_TOKEN
  }
  retry 5 10 create_token
  echo "bootstrap token $token_id created, valid for 24 h"
fi

# the file on disk keeps placeholders; the filled copy is root-only and gone on exit
CHANGED=0
homelab_new=$(mktemp)
cat > "$homelab_new" <<'HOMELAB_EOF'
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: __HOMELAB_BOOTSTRAP_TOKEN__
    description: "homelab: joins of the nodes in the stack config"
    ttl: 24h0m0s
    usages:
      - signing
      - authentication
    groups:
      - system:bootstrappers:kubeadm:default-node-token
certificateKey: __HOMELAB_CERTIFICATE_KEY__
localAPIEndpoint:
  advertiseAddress: 10.0.0.101
  bindPort: 6443
nodeRegistration:
  name: home-server-1
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: 10.0.0.101
  taints: []
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: home
kubernetesVersion: v1.34.2
controlPlaneEndpoint: 10.0.0.100:6443
networking:
  podSubnet: 172.16.0.0/16
  serviceSubnet: 10.96.0.0/12
  dnsDomain: cluster.local
apiServer:
  certSANs:
    - 10.0.0.100
    - 10.0.0.101
    - 10.0.0.102
    - 10.0.0.103
    - home-server-1
    - home-server-2
    - home-server-3
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
HOMELAB_EOF
if ! cmp -s "$homelab_new" /etc/homelab/kubeadm/init.yaml; then
  install -D -m 644 "$homelab_new" /etc/homelab/kubeadm/init.yaml
  CHANGED=1
fi
rm -f "$homelab_new"
if [ "$CHANGED" = 1 ]; then echo "/etc/homelab/kubeadm/init.yaml written"; fi
kubeadm_config=$(mktemp)
trap 'rm -f "$kubeadm_config"' EXIT
config_text=$(cat /etc/homelab/kubeadm/init.yaml)
config_text=${config_text//__HOMELAB_BOOTSTRAP_TOKEN__/$bootstrap_token}
config_text=${config_text//__HOMELAB_CERTIFICATE_KEY__/$certificate_key}
printf '%s\n' "$config_text" > "$kubeadm_config"

# the control-plane certificates in the cluster expire after 2 h: upload them again under the same key,
# which the filled config carries (not the command line). With the default kubeconfig this phase first
# re-bootstraps admin.conf against an API address it guesses from the default route (the management NIC
# here), which can hang; super-admin.conf (written by init, on this node only) talks to the VIP.
retry 5 10 kubeadm init phase upload-certs --upload-certs --config "$kubeadm_config" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets
