#!/usr/bin/env bash
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

exec 3>&1 1>&2
kubernetes_dir=/etc/kubernetes
manifests="$kubernetes_dir/manifests"
held="$kubernetes_dir/homelab-held-manifests"
renew_before=$(( 90 * 86400 ))
components='etcd kube-apiserver kube-controller-manager kube-scheduler'
loads() {
  case $1 in
    etcd) echo "$kubernetes_dir/pki/etcd/server.crt" ;;
    kube-apiserver) echo "$kubernetes_dir/pki/apiserver.crt" ;;
    kube-controller-manager) echo "$kubernetes_dir/controller-manager.conf" ;;
    kube-scheduler) echo "$kubernetes_dir/scheduler.conf" ;;
  esac
}

# a run cut short while the manifests were held away: they go back before anything else
if [ -d "$held" ]; then
  for file in "$held"/*.yaml; do
    [ -e "$file" ] || continue
    mv "$file" "$manifests/"
    echo "home-server-1: $(basename "$file") put back into $manifests (an earlier run was cut short)"
  done
  rmdir "$held"
fi

# the certificate kubeadm manages here that expires first: "NAME EXPIRES" (ISO 8601 sorts by time)
least_left() {
  kubeadm certs check-expiration -o jsonpath='{range .certificates[*]}{.name} {.missing} {.externallyManaged} {.residualTime} {.expirationDate}{"\n"}{end}' \
    | awk '$2 == "false" && $3 == "false" && NF == 5 { print $1, $5 }' | sort -k2,2 | head -n 1
}
least=$(least_left)
[ -n "$least" ] || { echo "home-server-1: kubeadm lists no certificate it manages here; is this a control plane that has joined?"; exit 1; }
# the time left from the expiry date itself: residualTime's unit was not seconds on the lab (41 days read as more than 90)
read -r name expires <<< "$least"
left=$(( $(date -d "$expires" +%s) - $(date +%s) ))
renewed=no
if [ "$left" -le "$renew_before" ]; then
  echo "home-server-1: $name expires $expires, fewer than 90 days from now; renewing every certificate kubeadm manages here"
  kubeadm certs renew all
  renewed=yes
  least=$(least_left)
  read -r name expires <<< "$least"
  left=$(( $(date -d "$expires" +%s) - $(date +%s) ))
  if [ "$left" -le "$renew_before" ]; then
    echo "home-server-1: renewed, but $name is valid only until $expires: the cluster's certificateValidityPeriod is not longer than kubernetes.certificates.renewBeforeDays (90); set renewBeforeDays below it"
    exit 1
  fi
else
  echo "home-server-1: every certificate kubeadm manages here has more than 90 days left (the first to expire: $name, $expires)"
fi

# a component runs with its current certificate once its process started after the file was written
started_after_file() {
  local pid
  pid=$(pgrep -o -f "^$1( |\$)") || return 1
  # (both in whole seconds, the start time rounded either way)
  [ $(( $(date +%s) - $(ps -o etimes= -p "$pid") )) -ge $(( $(stat -c %Y "$(loads "$1")") - 1 )) ]
}
stale=""
for component in $components; do
  started_after_file "$component" || stale="$stale $component"
done
if [ -n "$stale" ]; then
  echo "home-server-1: restarting the control-plane pods (still on the earlier certificates or not running:$stale)"
  mkdir -p "$held"
  for component in $components; do
    if [ -e "$manifests/$component.yaml" ]; then mv "$manifests/$component.yaml" "$held/"; fi
  done
  deadline=$(( $(date +%s) + 120 ))
  for component in $components; do
    while pgrep -f "^$component( |\$)" >/dev/null; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "home-server-1: $component still runs 120 s after its manifest was moved away; its manifest goes back"
        mv "$held"/*.yaml "$manifests/" && rmdir "$held"
        exit 1
      fi
      sleep 2
    done
  done
  mv "$held"/*.yaml "$manifests/"
  rmdir "$held"
fi
deadline=$(( $(date +%s) + 300 ))
for component in $components; do
  until started_after_file "$component"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "home-server-1: $component is not running with its current certificate 300 s after its pod was restarted; see crictl ps -a and the kubelet's log"
      exit 1
    fi
    sleep 2
  done
done
until curl -ksf --max-time 5 https://127.0.0.1:6443/readyz >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "home-server-1: the API server does not answer /readyz 300 s after its pod was restarted"
    exit 1
  fi
  sleep 2
done
if [ "$renewed" = yes ] || [ -n "$stale" ]; then echo "home-server-1: the control plane runs with certificates valid until $expires or later"; fi
echo "$expires" >&3
