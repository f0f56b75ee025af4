#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

host=$(hostname)
fail() { echo "$host: $*" >&2; exit 1; }
expected=7a50f46d584c1d2ba818e507d7264cba200a3204bbc1a467692ba58b19020559

if [ -f /etc/kubernetes/pki/ca.crt ]; then
  have=$(sha256sum < /etc/kubernetes/pki/ca.crt | cut -d' ' -f1)
  [ "$have" = "$expected" ] || fail "the cluster CA here (/etc/kubernetes/pki/ca.crt, sha256 $have) is not the one in homelab-etcd-20261205T235200Z.tar.gz (sha256 $expected): restoring that snapshot would bring back objects trusted by another CA (the join discovery, service-account tokens); nothing changed. Name a snapshot of this cluster as it is, or rebuild on machines without /etc/kubernetes/pki"
  echo "$host: the cluster CA here is the snapshot's; nothing to put back"
  exit 0
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
base64 -d | tar -xzf - -C "$staging"
for file in ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key; do
  [ -f "$staging/$file" ] || fail "the snapshot's PKI holds no $file: nothing put back"
done
[ "$(sha256sum < "$staging/ca.crt" | cut -d' ' -f1)" = "$expected" ] || fail "the PKI received is not the one planned (its ca.crt differs): nothing put back"
install -d -m 755 /etc/kubernetes/pki /etc/kubernetes/pki/etcd
for file in ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key; do
  case $file in *.key) mode=600 ;; *) mode=644 ;; esac
  install -m "$mode" "$staging/$file" "/etc/kubernetes/pki/$file.homelab-new"
done
# ca.crt last: its presence is what says the PKI is in place
for file in ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key ca.crt; do
  mv "/etc/kubernetes/pki/$file.homelab-new" "/etc/kubernetes/pki/$file"
done
echo "$host: the cluster's CAs and service-account keys from homelab-etcd-20261205T235200Z.tar.gz are in /etc/kubernetes/pki; kubeadm init uses them"
