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

# done means every phase completed: /etc/kubernetes/homelab-init.done, written after them, with admin.conf still there
# (a kubeadm reset by hand removes admin.conf, and the record with it goes stale)
if [ -f /etc/kubernetes/homelab-init.done ] && [ ! -f /etc/kubernetes/admin.conf ]; then rm -f /etc/kubernetes/homelab-init.done; fi
api_answers() { kubectl --kubeconfig /etc/kubernetes/super-admin.conf --request-timeout=10s get --raw /readyz >/dev/null 2>&1; }
if [ -f /etc/kubernetes/homelab-init.done ]; then
  echo "home-server-1 is already initialised; changed kubeadm settings are not applied to a running cluster"
elif [ -f /etc/kubernetes/homelab-join.done ] && [ -f /etc/kubernetes/admin.conf ]; then
  # a control plane that joined, listed first now (the one before it is gone, or was moved after it): it
  # takes over the first control plane's steps, which need super-admin.conf, and only init writes that
  if [ ! -s /etc/kubernetes/super-admin.conf ]; then
    kubeadm init phase kubeconfig super-admin --config "$kubeadm_config" 2>&1 | hide_secrets
  fi
  retry 12 10 api_answers || { echo "home-server-1 joined the cluster as a control plane, but its API does not answer; it cannot take over the first control plane's steps" >&2; exit 1; }
  touch /etc/kubernetes/homelab-init.done
  echo "home-server-1 joined the cluster as a control plane and is the first listed now: it takes over the steps of the first control plane"
elif [ -f /etc/kubernetes/admin.conf ]; then
  # admin.conf without the record: an init cut short after its kubeconfig phase (the uploads, the token
  # and the addons may be missing), or a cluster built before the record existed. The addons are
  # kubeadm's last phase: when they exist, every phase ran.
  # Files that exist are left as they are (a running cluster is not changed); a missing one is written
  # by its phase, and the kubelet then starts the control plane from its static pods.
  write_if_missing() {
    local file=$1; shift
    [ -s "$file" ] && return 0
    echo "kubeadm init on home-server-1 was cut short before writing $file: kubeadm init phase $*"
    kubeadm init phase "$@" --config "$kubeadm_config" 2>&1 | hide_secrets
  }
  write_if_missing /etc/kubernetes/super-admin.conf kubeconfig super-admin
  write_if_missing /etc/kubernetes/kubelet.conf kubeconfig kubelet
  write_if_missing /etc/kubernetes/controller-manager.conf kubeconfig controller-manager
  write_if_missing /etc/kubernetes/scheduler.conf kubeconfig scheduler
  write_if_missing /etc/kubernetes/manifests/etcd.yaml etcd local
  write_if_missing /etc/kubernetes/manifests/kube-apiserver.yaml control-plane apiserver
  write_if_missing /etc/kubernetes/manifests/kube-controller-manager.yaml control-plane controller-manager
  write_if_missing /etc/kubernetes/manifests/kube-scheduler.yaml control-plane scheduler
  write_if_missing /var/lib/kubelet/config.yaml kubelet-start
  systemctl is-active --quiet kubelet || systemctl start kubelet
  retry 30 10 api_answers || { echo "home-server-1 has /etc/kubernetes/admin.conf from an init that did not complete, and its API does not answer; if this cluster holds nothing yet, run 'sudo kubeadm reset -f' on home-server-1 and pulumi up again" >&2; exit 1; }
  if kubectl --kubeconfig /etc/kubernetes/super-admin.conf -n kube-system get deployment coredns >/dev/null 2>&1 && kubectl --kubeconfig /etc/kubernetes/super-admin.conf -n kube-system get daemonset kube-proxy >/dev/null 2>&1; then
    echo "home-server-1 was initialised before (its addons exist)"
  else
    echo "kubeadm init on home-server-1 was cut short: running its remaining phases"
    retry 3 10 kubeadm init phase upload-config all --config "$kubeadm_config" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets
    retry 3 10 kubeadm init phase upload-certs --upload-certs --config "$kubeadm_config" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets
    retry 3 10 kubeadm init phase mark-control-plane --config "$kubeadm_config" 2>&1 | hide_secrets
    retry 3 10 kubeadm init phase bootstrap-token --config "$kubeadm_config" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets
    retry 3 10 kubeadm init phase kubelet-finalize all --config "$kubeadm_config" 2>&1 | hide_secrets
    retry 3 10 kubeadm init phase addon all --config "$kubeadm_config" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets
  fi
  touch /etc/kubernetes/homelab-init.done
else
  # a cluster that already answers (this machine replaced, or its record lost): kubeadm init here would
  # start a second, empty cluster beside it, and everything after would be applied to that one
  for endpoint in 10.0.0.100:6443 10.0.0.102:6443 10.0.0.103:6443; do
    if curl -ksf --max-time 5 "https://$endpoint/version" >/dev/null 2>&1; then
      echo "refusing kubeadm init on home-server-1: a Kubernetes API already answers at $endpoint, so the cluster runs without home-server-1's record of its init, and an init here would start a second, empty cluster. If home-server-1 is a new machine in place of the first control plane, it has to join that cluster as the others did: in homelab:nodes, list another control plane first and home-server-1 after it, run 'npm run forget-node -- --replaced home-server-1', then pulumi up. If that cluster is an old one to discard, run 'sudo kubeadm reset -f' on its nodes first. Nothing was changed on home-server-1" >&2
      exit 1
    fi
  done
  kubeadm config validate --config "$kubeadm_config" 2>&1 | hide_secrets
  # pulling the images is the slow, flaky part
  retry 5 15 kubeadm config images pull --config "$kubeadm_config" 2>&1 | hide_secrets
  if ! kubeadm init --config "$kubeadm_config" --upload-certs --skip-token-print --skip-certificate-key-print 2>&1 | hide_secrets; then
    echo "kubeadm init failed on home-server-1; resetting so that the next run starts clean" >&2
    kubeadm reset -f --cri-socket unix:///var/run/containerd/containerd.sock >/dev/null 2>&1 || true
    exit 1
  fi
  touch /etc/kubernetes/homelab-init.done
  echo "home-server-1 initialised cluster home (Kubernetes v1.34.2, API at 10.0.0.100:6443)"
fi

# control planes run workloads too: a small lab has few or no other nodes
control_planes=$(retry 10 6 kc get nodes -l node-role.kubernetes.io/control-plane -o name)
for node in $control_planes; do
  if kc get "$node" -o jsonpath='{.spec.taints[*].key}' | grep -w node-role.kubernetes.io/control-plane >/dev/null; then
    kc taint "$node" node-role.kubernetes.io/control-plane:NoSchedule-
  fi
done
