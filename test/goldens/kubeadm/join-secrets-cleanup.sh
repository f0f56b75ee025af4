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
certificate_key=""
hide_secrets() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line//"$bootstrap_token"/[bootstrap token]}
    line=${line//"${bootstrap_token#*.}"/[token secret]}
    if [ -n "$certificate_key" ]; then line=${line//"$certificate_key"/[certificate key]}; fi
    printf '%s\n' "$line"
  done
}

# runs again whenever the pre-join step does (its script 8418a1068ecaea7f): that step makes the secrets again
token_id=${bootstrap_token%%.*}
# the token's id is the public half of it (the name of its Secret); the secret half stays on stdin
retry 5 10 kc -n kube-system delete secret "bootstrap-token-$token_id" --ignore-not-found >/dev/null
retry 5 10 kc -n kube-system delete secret kubeadm-certs --ignore-not-found >/dev/null
# kubeadm's upload-certs makes a short-lived token of its own, whose only use is to own kubeadm-certs
# (its TTL); deleting kubeadm-certs leaves it behind, so it goes too
proxies=$(kc -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token \
  -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.data.description}{"\n"}{end}' | while read -r name description; do
  if [ "$(base64 -d <<<"$description" 2>/dev/null)" = 'Proxy for managing TTL for the kubeadm-certs secret' ]; then echo "$name"; fi
done)
for secret in $proxies; do retry 5 10 kc -n kube-system delete secret "$secret" --ignore-not-found >/dev/null; done
echo "every node has joined: bootstrap token $token_id, the uploaded control-plane certificates and the tokens that owned them deleted"
