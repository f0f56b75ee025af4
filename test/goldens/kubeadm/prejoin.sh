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

[ -f /etc/kubernetes/admin.conf ] || { echo "this node has not run kubeadm init" >&2; exit 1; }

# tokens expire after 24 h and a node may join months after init: keep one valid for 2 h more
token_id=${bootstrap_token%%.*}
expiration=$(kc -n kube-system get secret "bootstrap-token-$token_id" -o jsonpath='{.data.expiration}' 2>/dev/null | base64 -d 2>/dev/null || true)
if [ -n "$expiration" ] && [ "$(date -d "$expiration" +%s)" -gt "$(( $(date +%s) + 7200 ))" ]; then
  echo "bootstrap token $token_id is valid until $expiration"
else
  create_token() {
    kubeadm token delete "$token_id" >/dev/null 2>&1 || true
    kubeadm token create "$bootstrap_token" --ttl 24h0m0s --description 'homelab: joins of the nodes in the stack config'
  }
  retry 5 10 create_token 2>&1 | hide_secrets
  echo "bootstrap token $token_id created, valid for 24 h"
fi

# the control-plane certificates in the cluster expire after 2 h: upload them again under the same key.
# With the default kubeconfig this phase first re-bootstraps admin.conf against an API address it guesses
# from the default route (the management NIC here), which can hang; super-admin.conf (written by init,
# on this node only) talks to the VIP and needs no bootstrap.
retry 5 10 kubeadm init phase upload-certs --upload-certs --certificate-key "$certificate_key" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets

# joins pin the cluster CA by the hash of its public key (not a secret); the last line is the hash
ca_hash=$(openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | sed 's/^.* //')
echo "sha256:$ca_hash"
