#!/usr/bin/env bash
# jnbd serve against nbdkit, as nbdcopy's source: nbdcopy SERVER null:, for
# the pattern backend/plugin and for a memory disk filled with the pattern
# first. Runs alternate between the two servers; prints the median seconds of
# each and the ratio (below 1: jnbd is faster).
#
#   bench/serve.sh [SIZE [RUNS]]     default 8G and 5; NBDCOPY=... picks nbdcopy
set -euo pipefail
source "$(dirname "$0")/lib.sh"

size=${1:-8G}
runs=${2:-5}
nbdcopy=${NBDCOPY:-nbdcopy}
command -v nbdkit >/dev/null || die "needs nbdkit"
command -v "$nbdcopy" >/dev/null || die "needs nbdcopy (libnbd-bin)"

echo "building..." >&2
./mvnw -q -B package -DskipTests -pl tools -am

jsock=$work/jnbd.sock
jnbd_pid=
stop_jnbd() {
  if [ -n "$jnbd_pid" ]; then
    kill "$jnbd_pid" 2>/dev/null || true
    wait "$jnbd_pid" 2>/dev/null || true
    jnbd_pid=
  fi
}
trap 'stop_jnbd; cleanup' EXIT

start_jnbd() {
  ./jnbd serve --exit-with-parent -U "$jsock" "$@" &
  jnbd_pid=$!
  for _ in $(seq 200); do
    [ -S "$jsock" ] && return
    kill -0 "$jnbd_pid" 2>/dev/null || die "jnbd serve failed to start"
    sleep 0.1
  done
  die "jnbd serve did not become ready"
}

uri() { echo "nbd+unix:///?socket=$1"; }

seconds() {
  local start end
  start=$(date +%s.%N)
  "$nbdcopy" "$1" null:
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# compare LABEL: both servers are up; alternate runs, one warm-up each.
compare() {
  local label=$1 j=() k=()
  seconds "$(uri "$jsock")" >/dev/null
  seconds "$(uri "$sock")" >/dev/null
  for _ in $(seq "$runs"); do
    j+=("$(seconds "$(uri "$jsock")")")
    k+=("$(seconds "$(uri "$sock")")")
  done
  local jm km
  jm=$(printf '%s\n' "${j[@]}" | median)
  km=$(printf '%s\n' "${k[@]}" | median)
  printf '%-22s jnbd %7.3f s   nbdkit %7.3f s   ratio %.2f\n' "$label $size" "$jm" "$km" \
    "$(echo "$jm / $km" | bc -l)"
}

start_jnbd pattern "$size"
start_nbdkit pattern "$size"
compare "pattern"
stop_jnbd
stop_nbdkit

start_jnbd memory "$size"
start_nbdkit memory "$size"
# Fill both from a pattern server, so that every byte is data, not a hole.
filler=$work/filler.sock
nbdkit -f --exit-with-parent -U "$filler" pattern "$size" &
filler_pid=$!
for _ in $(seq 100); do [ -S "$filler" ] && break; sleep 0.1; done
"$nbdcopy" "$(uri "$filler")" "$(uri "$jsock")"
"$nbdcopy" "$(uri "$filler")" "$(uri "$sock")"
kill "$filler_pid"
compare "memory (filled)"
