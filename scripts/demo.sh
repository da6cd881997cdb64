#!/usr/bin/env bash
# Smart-VM demo: install dependencies, build the release preset, start
# smartvm-hv, smartvm-xenstored, smartvm-blkback and smartvmd, run guests from the
# configs in examples/ (pi, dot, selftest; blk on a PV disk; pvcontrol, shut down
# through xenstore control/shutdown as xl does), show their results, then clean everything up.
# Needs root and /dev/kvm. Usage: scripts/demo.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

heading() { printf '\n==== %s ====\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

if [[ $EUID -ne 0 ]]; then
  die "needs root (smartvm-hv opens /dev/kvm and a root-only control socket); run: sudo $0"
fi
if [[ ! -c /dev/kvm ]]; then
  die "/dev/kvm is missing: enable virtualisation (VT-x/AMD-V, or nested KVM) and load kvm_intel/kvm_amd"
fi
if ! { exec 9<>/dev/kvm; } 2>/dev/null; then
  die "/dev/kvm cannot be opened read-write"
fi
exec 9>&-

heading "Installing dependencies (scripts/install-deps.sh)"
scripts/install-deps.sh

heading "Building the release preset"
# Warnings stay warnings here: a demo should not fail on a new compiler's
# warning (scripts/test.sh builds with -Werror).
cmake --preset release -DSMARTVM_WERROR=OFF
# Only what the demo runs (the tests are built by scripts/test.sh).
cmake --build --preset release -j"$(nproc)" --target smartvm-hv smartvm-xenstored smartvm-blkback smartvmd smartvm smartvm_guest

BIN="$ROOT/build/release/bin"
GUEST="$ROOT/build/release/guests/smartvm-guest.elf"
[[ -x $BIN/smartvm-hv && -x $BIN/smartvm-xenstored && -x $BIN/smartvm-blkback && -x $BIN/smartvmd && -x $BIN/smartvm && -f $GUEST ]] || die "build products missing under build/release"

WORK="$(mktemp -d /tmp/smartvm-demo.XXXXXX)"
HV_PID=""
XS_PID=""
BLK_PID=""
D_PID=""
cleanup() {
  local rc=$?
  [[ -n $D_PID ]] && kill -TERM "$D_PID" 2>/dev/null && wait "$D_PID" 2>/dev/null || true
  [[ -n $BLK_PID ]] && kill -TERM "$BLK_PID" 2>/dev/null && wait "$BLK_PID" 2>/dev/null || true
  [[ -n $XS_PID ]] && kill -TERM "$XS_PID" 2>/dev/null && wait "$XS_PID" 2>/dev/null || true
  [[ -n $HV_PID ]] && kill -TERM "$HV_PID" 2>/dev/null && wait "$HV_PID" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_socket() {  # path pid
  for _ in $(seq 1 300); do
    [[ -S $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

heading "Starting smartvm-hv, smartvm-xenstored, smartvm-blkback and smartvmd (sockets and logs in $WORK)"
"$BIN/smartvm-hv" --control-socket "$WORK/hv.sock" --log-file "$WORK/hv.log" --log-dir "$WORK/domains" \
  >"$WORK/hv.out" 2>&1 &
HV_PID=$!
wait_socket "$WORK/hv.sock" "$HV_PID" || { cat "$WORK/hv.out" >&2; die "smartvm-hv did not start"; }
echo "smartvm-hv  pid $HV_PID  control socket $WORK/hv.sock"
# xenstored before smartvmd: smartvmd writes each new domain's nodes there and introduces it.
"$BIN/smartvm-xenstored" --socket "$WORK/xenstored.sock" --hv-socket "$WORK/hv.sock" --log-file "$WORK/xenstored.log" \
  >"$WORK/xenstored.out" 2>&1 &
XS_PID=$!
wait_socket "$WORK/xenstored.sock" "$XS_PID" || { cat "$WORK/xenstored.out" >&2; die "smartvm-xenstored did not start"; }
echo "xenstored   pid $XS_PID  socket $WORK/xenstored.sock"
# The block backend watches xenstore for the disks smartvmd writes; it has no socket of its own.
"$BIN/smartvm-blkback" --xenstored-socket "$WORK/xenstored.sock" --hv-socket "$WORK/hv.sock" \
  --run-dir "$WORK/blkback" --log-file "$WORK/blkback.log" >"$WORK/blkback.out" 2>&1 &
BLK_PID=$!
for _ in $(seq 1 300); do
  grep -q "smartvm-blkback serving" "$WORK/blkback.log" 2>/dev/null && break
  kill -0 "$BLK_PID" 2>/dev/null || { cat "$WORK/blkback.out" >&2; die "smartvm-blkback did not start"; }
  sleep 0.1
done
grep -q "smartvm-blkback serving" "$WORK/blkback.log" || die "smartvm-blkback did not start in time"
echo "blkback     pid $BLK_PID  storage daemon under $WORK/blkback"
"$BIN/smartvmd" --listen "unix:$WORK/smartvmd.sock" --hv-socket "$WORK/hv.sock" \
  --xenstored-socket "$WORK/xenstored.sock" --log-file "$WORK/smartvmd.log" \
  --console-log-dir "$WORK/console" >"$WORK/smartvmd.out" 2>&1 &
D_PID=$!
wait_socket "$WORK/smartvmd.sock" "$D_PID" || { cat "$WORK/smartvmd.out" >&2; die "smartvmd did not start"; }
echo "smartvmd    pid $D_PID  gRPC on unix:$WORK/smartvmd.sock"

sv() { "$BIN/smartvm" --connect "unix:$WORK/smartvmd.sock" --xenstored-socket "$WORK/xenstored.sock" "$@"; }

GUESTS=(demo-pi demo-dot demo-selftest demo-blk)
heading "Creating guests from examples/"
for w in pi dot selftest; do
  echo "\$ smartvm create examples/$w.cfg"
  sv create "examples/$w.cfg"
done
# A scratch disk for the blk guest; the config's target is overridden to point at it.
qemu-img create -q -f raw "$WORK/blk.raw" 16M
BLK_DISK="disk=['format=raw, vdev=xvda, access=rw, target=$WORK/blk.raw']"
echo "\$ smartvm create examples/blk.cfg \"$BLK_DISK\""
sv create examples/blk.cfg "$BLK_DISK"
# Stays up until asked to shut down (below).
echo "\$ smartvm create examples/pvcontrol.cfg"
sv create examples/pvcontrol.cfg

heading "Waiting for the guests to finish"
deadline=$((SECONDS + 300))
while :; do
  listing="$(sv list)"
  done_count=0
  for g in "${GUESTS[@]}"; do
    state="$(awk -v n="$g" '$1 == n { print $5 }' <<<"$listing")"
    [[ $state == *s* || $state == *c* ]] && done_count=$((done_count + 1))
  done
  (( done_count == ${#GUESTS[@]} )) && break
  (( SECONDS < deadline )) || { echo "$listing"; die "guests did not finish within 300 s"; }
  sleep 0.5
done
echo "all ${#GUESTS[@]} guests have shut down"

heading "smartvm list"
sv list

for g in "${GUESTS[@]}"; do
  heading "Console of $g"
  # A preserved domain's console stays open: read what is buffered, then stop.
  timeout 3 "$BIN/smartvm" --connect "unix:$WORK/smartvmd.sock" console "$g" </dev/null || true
done

heading "The PV disk: RESULT line, the guest's device nodes and the backend's"
timeout 3 "$BIN/smartvm" --connect "unix:$WORK/smartvmd.sock" console demo-blk </dev/null >"$WORK/blk.console" || true
grep -E "^(RESULT|FAIL)" "$WORK/blk.console" || die "demo-blk printed no RESULT line"
grep -q "mismatches=0" "$WORK/blk.console" || die "demo-blk did not verify its disk"
BLK_ID="$(sv list | awk '$1 == "demo-blk" { print $2 }')"
echo "\$ smartvm xenstore-ls /local/domain/$BLK_ID/device"
sv xenstore-ls "/local/domain/$BLK_ID/device"
echo "\$ smartvm xenstore-ls /local/domain/0/backend/vbd/$BLK_ID"
sv xenstore-ls "/local/domain/0/backend/vbd/$BLK_ID"
echo "\$ smartvm block-list demo-blk"
sv block-list demo-blk
echo "\$ ls $WORK/console   # smartvmd's per-guest console logs"
ls "$WORK/console"

heading "PV shutdown: smartvm shutdown -w asks demo-pvctl through xenstore control/shutdown"
PV_ID="$(sv list | awk '$1 == "demo-pvctl" { print $2 }')"
for _ in $(seq 1 100); do  # the guest announces feature-poweroff once its xenbus is up
  [[ "$(sv xenstore-read "/local/domain/$PV_ID/control/feature-poweroff" 2>/dev/null)" == 1 ]] && break
  sleep 0.1
done
echo "\$ smartvm xenstore-ls /local/domain/$PV_ID/control"
sv xenstore-ls "/local/domain/$PV_ID/control"
echo "\$ smartvm shutdown -w demo-pvctl"
sv shutdown -w demo-pvctl
sv list demo-pvctl
timeout 3 "$BIN/smartvm" --connect "unix:$WORK/smartvmd.sock" console demo-pvctl </dev/null | grep -E "pvcontrol" || true
GUESTS+=(demo-pvctl)

heading "smartvm info"
sv info

heading "xenstore (smartvm xenstore-ls /local/domain)"
# Through a file: with pipefail, head closing the pipe early would fail the demo.
sv xenstore-ls /local/domain >"$WORK/xenstore.txt"
head -n 40 "$WORK/xenstore.txt"

heading "Destroying the guests"
for g in "${GUESTS[@]}"; do
  echo "\$ smartvm destroy $g"
  sv destroy "$g"
done
sv list

heading "Stopping the daemons"
kill -TERM "$D_PID"; wait "$D_PID" && echo "smartvmd exited 0"; D_PID=""
kill -TERM "$BLK_PID"; wait "$BLK_PID" && echo "smartvm-blkback exited 0"; BLK_PID=""
kill -TERM "$XS_PID"; wait "$XS_PID" && echo "smartvm-xenstored exited 0"; XS_PID=""
kill -TERM "$HV_PID"; wait "$HV_PID" && echo "smartvm-hv exited 0"; HV_PID=""
heading "Done"
