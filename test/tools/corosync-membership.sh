#!/usr/bin/env bash
# Real corosync daemons in network namespaces, to check how a running cluster takes a new
# membership: three members start from DIR/three.conf; the third leaves (the first two get
# DIR/two.conf, one `corosync-cfgtool -R`); a fourth joins (DIR/with-fourth.conf on the first two
# and the new one, one reload). Prints what the test asserts on. Needs root, iproute2, corosync.
#   bash test/tools/corosync-membership.sh DIR     (DIR also holds each daemon's files)
# Namespaces are named hlt-cs*, nothing else on the machine is touched, and all goes on exit.
set -euo pipefail
DIR=$(realpath "$1")
members_of() { sed -n 's/^ *ring0_addr: //p' "$1"; }
mapfile -t ADDRESSES < <(members_of "$DIR/with-fourth.conf")
ADDRESS=([1]="$(members_of "$DIR/three.conf" | sed -n 1p)" [2]="$(members_of "$DIR/three.conf" | sed -n 2p)" [3]="$(members_of "$DIR/three.conf" | sed -n 3p)" [4]="${ADDRESSES[2]}")

cleanup() {
  local n pid
  for n in 1 2 3 4; do
    for pid in $(ip netns pids "hlt-cs$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "hlt-cs$n" 2>/dev/null || true
  done
  ip netns del hlt-csbr 2>/dev/null || true
}
cleanup
trap cleanup EXIT
ip netns add hlt-csbr
ip -n hlt-csbr link add br0 type bridge
ip -n hlt-csbr link set br0 up
head -c 256 /dev/urandom > "$DIR/authkey"

start() { # N CONF: member N, its own /etc/corosync, /var/lib/corosync, /run and log, on the bridge
  local n=$1 conf=$2 files="$DIR/n$1"
  ip netns add "hlt-cs$n"
  ip link add "hlt-v$n" type veth peer name "hlt-p$n"
  ip link set "hlt-p$n" netns hlt-csbr
  ip -n hlt-csbr link set "hlt-p$n" master br0 up
  ip link set "hlt-v$n" netns "hlt-cs$n"
  ip -n "hlt-cs$n" link set lo up
  ip -n "hlt-cs$n" link set "hlt-v$n" up
  ip -n "hlt-cs$n" addr add "${ADDRESS[$n]}/24" dev "hlt-v$n"
  mkdir -p "$files/etc" "$files/lib" "$files/log"
  install -m 400 "$DIR/authkey" "$files/etc/authkey"
  cp "$conf" "$files/etc/corosync.conf"
  # `ip netns exec` gives the command a mount namespace of its own: these mounts stay in it
  ip netns exec "hlt-cs$n" sh -c "mount --bind '$files/etc' /etc/corosync && mount --bind '$files/lib' /var/lib/corosync &&
    mount -t tmpfs tmpfs /run && mount --bind '$files/log' /var/log/corosync && exec corosync -f" > "$files/out" 2>&1 &
  echo $! > "$files/pid"
}
at() { local n=$1; shift; ip netns exec "hlt-cs$n" "$@"; }
joined() { at "$1" corosync-cmapctl -b runtime.members 2>/dev/null | grep -c 'status (str) = joined' || true; }
quorum() { at "$1" corosync-quorumtool -s 2>/dev/null | sed -n 's/^\(Expected votes\|Total votes\|Quorate\): *\(.*\)/\1=\2/p' | tr '\n' ' '; }
wait_joined() { # N COUNT
  local tries
  for tries in $(seq 120); do
    if [ "$(joined "$1")" = "$2" ] && at "$1" corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "member $1 sees $(joined "$1") joined after $tries tries, not $2: $(quorum "$1")"
  cat "$DIR/n$1/out" "$DIR/n$1/log/corosync.log" 2>/dev/null | tail -20
  return 1
}
pid() { cat "$DIR/n$1/pid"; }
mkdir -p /var/log/corosync

for n in 1 2 3; do start "$n" "$DIR/three.conf"; done
for n in 1 2 3; do wait_joined "$n" 3; done
pids_before="$(pid 1) $(pid 2)"
echo "three: member 2 is $(at 2 corosync-cmapctl -g runtime.votequorum.this_node_id | sed 's/.* = /node /'); $(quorum 1)"

for n in 1 2; do cp "$DIR/two.conf" "$DIR/n$n/etc/corosync.conf"; done
at 1 corosync-cfgtool -R >/dev/null
wait_joined 1 2
wait_joined 2 2
echo "two: $(quorum 1)"
kill "$(pid 3)"

for n in 1 2; do cp "$DIR/with-fourth.conf" "$DIR/n$n/etc/corosync.conf"; done
start 4 "$DIR/with-fourth.conf"
at 1 corosync-cfgtool -R >/dev/null
for n in 1 2 4; do wait_joined "$n" 3; done
echo "with the fourth: $(quorum 4)"
kill -0 "$(pid 1)" && kill -0 "$(pid 2)"
echo "first two: corosync pids $pids_before before, $(pid 1) $(pid 2) after"
