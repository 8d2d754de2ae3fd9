#!/usr/bin/env bash
# jnbd against libnbd's own tools, on this machine, against one nbdkit server
# that this script starts; prints a table and writes docs/performance.md.
#
#   bench/run.sh                  full run: 8 GiB reads, 5 rounds, 10 s random-read runs
#   BENCH_QUICK=1 bench/run.sh    quick run: 1 GiB, 3 rounds, 3 s
#
# Overrides: BENCH_SIZE (export size, read in full by the sequential runs),
# BENCH_ROUNDS, BENCH_SECONDS and BENCH_WARMUP (random reads), BENCH_JMH=0
# (skip JMH), BENCH_JAVA_OPTS (extra JVM options for jnbd), BENCH_OUT (report
# path, default docs/performance.md).
#
# Needs nbdkit, nbdcopy (libnbd-bin), fio with its nbd engine, jq; on Debian:
# apt-get install nbdkit libnbd-bin fio jq. Not part of CI: timings on shared
# runners mean nothing.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
invocation="$({ env | grep -E '^BENCH_' || true; } | sort | tr '\n' ' ')bench/run.sh${*:+ $*}"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  mode=quick size=${BENCH_SIZE:-1G} rounds=${BENCH_ROUNDS:-3} seconds=${BENCH_SECONDS:-3} warmup=${BENCH_WARMUP:-1}
  jmh_opts=(-wi 2 -w 1 -i 3 -r 1)
else
  mode=full size=${BENCH_SIZE:-8G} rounds=${BENCH_ROUNDS:-5} seconds=${BENCH_SECONDS:-10} warmup=${BENCH_WARMUP:-2}
  jmh_opts=()
fi
out=${BENCH_OUT:-docs/performance.md}
requests=64 request_size=262144

for tool in nbdkit nbdcopy nbdinfo fio jq; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install nbdkit libnbd-bin fio jq)"
done
fio --enghelp=nbd >/dev/null 2>&1 || die "this fio was built without the nbd engine"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_build

# The null plugin answers reads with zeroes at memset speed and accepts writes,
# so the clients' costs dominate and one server serves every benchmark. The
# noextents filter reports the export as all data, so nbdcopy reads it all
# rather than skipping it as a hole.
start_nbdkit --filter=noextents null "$size"
uri="nbd+unix:///?socket=$sock"
bench_aot "$uri"
bytes=$(nbdinfo --size "$uri")

results=$work/results.tsv
: > "$results"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$results"; }
now() { date +%s%N; }
# The value of key= in a RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< "$2"; }

seq_jnbd() { # case connections api
  local t0 t1 cold warm
  t0=$(now)
  "${jvm[@]}" io.jnbd.bench.SeqRead --uri="$uri" --connections="$2" --requests=$requests \
    --request-size=$request_size --api="$3" --passes=2 > "$work/seq.out"
  t1=$(now)
  cold=$(grep '^RESULT .* pass=1 ' "$work/seq.out")
  warm=$(grep '^RESULT .* pass=2 ' "$work/seq.out")
  record "$1" bps "$(field bytes_per_sec "$cold")"
  record "$1.warm" bps "$(field bytes_per_sec "$warm")"
  # The process without its second pass: JVM start, connecting, the first pass, closing.
  record "$1" wall_bps "$(echo "$bytes * 1000000000 / ($t1 - $t0 - $(field seconds "$warm") * 1000000000)" | bc)"
  record "$1" alloc "$(field alloc_bytes_per_op "$warm")"
}

seq_nbdcopy() { # case connections
  local t0 t1
  # --no-extents and -S 0 make nbdcopy only read: no block status requests,
  # no scan for zeroes. --threads=N: nbdcopy opens no more connections than threads.
  t0=$(now)
  nbdcopy --no-extents -S 0 --connections="$2" --threads="$2" --requests=$requests \
    --request-size=$request_size "$uri" null:
  t1=$(now)
  record "$1" bps "$(echo "$bytes * 1000000000 / ($t1 - $t0)" | bc)"
}

rand_jnbd() { # case qd
  local line
  line=$("${jvm[@]}" io.jnbd.bench.RandRead --uri="$uri" --qd="$2" --block=4096 --seconds="$seconds" \
    --warmup="$warmup" | grep '^RESULT')
  record "$1" iops "$(field iops "$line")"
  record "$1" lat_mean "$(field lat_mean_us "$line")"
  record "$1" lat_p50 "$(field lat_p50_us "$line")"
  record "$1" lat_p99 "$(field lat_p99_us "$line")"
  record "$1" alloc "$(field alloc_bytes_per_op "$line")"
}

rand_fio() { # case qd
  local json=$work/fio.json
  fio --name=randread --ioengine=nbd --uri="$uri" --rw=randread --bs=4k --iodepth="$2" --size="$bytes" \
    --time_based --runtime="$seconds" --ramp_time="$warmup" --lat_percentiles=1 \
    --output-format=json --output="$json" > /dev/null
  record "$1" iops "$(jq '.jobs[0].read.iops' "$json")"
  record "$1" lat_mean "$(jq '.jobs[0].read.lat_ns.mean / 1000' "$json")"
  record "$1" lat_p50 "$(jq '.jobs[0].read.lat_ns.percentile["50.000000"] / 1000' "$json")"
  record "$1" lat_p99 "$(jq '.jobs[0].read.lat_ns.percentile["99.000000"] / 1000' "$json")"
}

for r in $(seq "$rounds"); do
  echo "round $r of $rounds..." >&2
  for c in 1 4; do
    seq_jnbd "seq$c.callback" $c callback
    seq_jnbd "seq$c.future" $c future
    seq_nbdcopy "seq$c.nbdcopy" $c
  done
  for qd in 64 1; do
    rand_jnbd "rand$qd.jnbd" $qd
    rand_fio "rand$qd.fio" $qd
  done
done

jmh_json=$work/jmh.json
if [ "${BENCH_JMH:-1}" = 1 ]; then
  echo "JMH (allocation per command)..." >&2
  "${jvm[@]}" org.openjdk.jmh.Main io.jnbd.bench.CommandBench -p uri="$uri" -prof gc "${jmh_opts[@]}" \
    -rf json -rff "$jmh_json" >&2
fi

# ---------------------------------------------------------------- report

values() { awk -F'\t' -v c="$1" -v m="$2" '$1 == c && $2 == m { print $3 }' "$results"; }
median_of() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
median() { values "$1" "$2" | median_of; }
# The median over rounds of A's value divided by B's from the same round (CASE_A CASE_B METRIC_A [METRIC_B]).
# A and B ran one after the other under the same load, so this is steadier than the ratio of the medians.
paired() {
  paste <(values "$1" "$3") <(values "$2" "${4:-$3}") | awk '{ print $1 / $2 }' | median_of
}
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# met VALUE OP TARGET: yes/no, OP being >=, <= or <
met() {
  awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN { ok = op == ">=" ? r >= t : op == "<=" ? r <= t : r < t; print ok ? "yes" : "**no**" }'
}
gbps() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1e9 }'; }

# The faster jnbd form (by median) is the headline; both are reported.
best_form() { # connections [.warm]
  local cb fu
  cb=$(median "seq$1.callback$2" bps) fu=$(median "seq$1.future$2" bps)
  awk -v a="$cb" -v b="$fu" 'BEGIN { print (a >= b) ? "callback" : "future" }'
}

# Sections that other scripts keep in the same page (bench/tls.sh's, between
# its <!-- tls:begin --> and <!-- tls:end --> markers) survive a rerun.
kept=$work/kept.md
: > "$kept"
if [ -f "$out" ]; then
  awk '/^<!-- [a-z0-9-]+:begin -->$/ { keep = 1 } keep { print } /^<!-- [a-z0-9-]+:end -->$/ { keep = 0 }' "$out" > "$kept"
fi

{
  echo "# jnbd performance"
  echo
  echo "Generated by \`bench/run.sh\` ($mode mode); rerun it rather than editing this page."
  echo
  echo "- command: \`$invocation\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
  echo "- JDK: $("$java" -version 2>&1 | head -n 1); jnbd JVM options: \`--enable-native-access=ALL-UNNAMED${BENCH_JAVA_OPTS:+ $BENCH_JAVA_OPTS}\`$([ "${BENCH_AOT:-1}" = 1 ] && echo ", started from an AOT cache trained by a 1 GiB SeqRead (BENCH_AOT=0: none)")"
  echo "- nbdkit $(nbdkit --version | awk '{ print $2 }'), libnbd $(nbdcopy --version | awk '/^libnbd/ { print $2 }') (nbdcopy), $(fio --version)"
  echo "- server: \`nbdkit -U SOCKET --filter=noextents null $size\`, started once; every run of both sides connects to it"
  echo "- load average (1, 5, 15 min) before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows up here and as spread in the runs below)"
  echo "- $rounds rounds; in each, every case runs once, in the order listed under \"Runs\" (A B A B ...); figures are medians over the rounds, and a target counts as met by the median of the per-round ratios"
  echo
  echo "## Against libnbd"
  echo
  echo "| benchmark | jnbd | libnbd | ratio of medians | median of per-round ratios | target | met |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  for c in 1 4; do
    for suffix in '' .warm; do
      if [ -z "$suffix" ]; then pass=first; else pass=second; fi
      form=$(best_form $c "$suffix")
      j=$(median "seq$c.$form$suffix" bps) l=$(median "seq$c.nbdcopy" bps)
      p=$(paired "seq$c.$form$suffix" "seq$c.nbdcopy" bps)
      echo "| sequential read, $c connection(s), $requests × 256 KiB in flight each, GB/s; jnbd's $pass pass, $form form (libnbd: nbdcopy) | $(gbps "$j") | $(gbps "$l") | $(ratio "$j" "$l") | $(fmt "$p" 2) | ≥ 1.0 | $(met "$p" '>=' 1.0) |"
    done
  done
  j=$(median rand64.jnbd iops) l=$(median rand64.fio iops) p=$(paired rand64.jnbd rand64.fio iops)
  echo "| 4 KiB random read, 64 in flight, IOPS (libnbd: fio) | $(fmt "$j" 0) | $(fmt "$l" 0) | $(ratio "$j" "$l") | $(fmt "$p" 2) | ≥ 1.0 | $(met "$p" '>=' 1.0) |"
  j=$(median rand1.jnbd lat_mean) l=$(median rand1.fio lat_mean) p=$(paired rand1.jnbd rand1.fio lat_mean)
  echo "| 4 KiB random read, 1 in flight, mean latency µs (libnbd: fio) | $(fmt "$j" 1) | $(fmt "$l" 1) | $(ratio "$j" "$l") | $(fmt "$p" 2) | ≤ 1.1 | $(met "$p" '<=' 1.1) |"
  if [ -s "$jmh_json" ]; then
    a=$(jq '[.[] | select(.benchmark | endswith(".aioPread")) | .secondaryMetrics["gc.alloc.rate.norm"].score] | max' "$jmh_json")
    echo "| heap allocated per command, aioPread with callback, 64 in flight (JMH; larger of 4 KiB and 256 KiB), bytes | $(fmt "$a" 0) | – | – | – | < 64 | $(met "$a" '<' 64) |"
  fi
  echo
  echo "## Sequential read"
  echo
  echo "Each jnbd process reads the export twice over the same connections. Its"
  echo "clock runs from a pass's first request to its last reply; the first pass"
  echo "includes the JIT's warm-up, as a one-off copy would, the second is the"
  echo "steady state. \"Process\" is the whole \`java\` process less its second pass"
  echo "(JVM start, connecting, first pass), timed like nbdcopy, which is timed as a"
  echo "process. Allocation is the whole JVM's heap allocation over the second pass"
  echo "divided by the number of reads."
  echo
  echo "| connections | client | first pass GB/s | second pass GB/s | process GB/s | B/read |"
  echo "|---:|---|---:|---:|---:|---:|"
  for c in 1 4; do
    for form in callback future; do
      echo "| $c | jnbd, $form | $(gbps "$(median "seq$c.$form" bps)") | $(gbps "$(median "seq$c.$form.warm" bps)") | $(gbps "$(median "seq$c.$form" wall_bps)") | $(fmt "$(median "seq$c.$form" alloc)" 0) |"
    done
    echo "| $c | nbdcopy | – | – | $(gbps "$(median "seq$c.nbdcopy" bps)") | – |"
  done
  echo
  echo "## Random 4 KiB reads, one connection"
  echo
  echo "jnbd: \`aioPread\` with a completion callback that issues the next read at depth 64,"
  echo "\`pread\` at depth 1; fio: \`--ioengine=nbd\` (libnbd's aio calls). Latency"
  echo "is from issuing a request to seeing its completion (fio's \`lat\`). ${seconds} s"
  echo "measured after ${warmup} s of warm-up."
  echo
  echo "| in flight | client | IOPS | mean µs | p50 µs | p99 µs | B/read |"
  echo "|---:|---|---:|---:|---:|---:|---:|"
  for qd in 64 1; do
    for side in jnbd fio; do
      if [ $side = jnbd ]; then a=$(fmt "$(median "rand$qd.$side" alloc)" 0); else a=–; fi
      echo "| $qd | $side | $(fmt "$(median "rand$qd.$side" iops)" 0) | $(fmt "$(median "rand$qd.$side" lat_mean)" 1) | $(fmt "$(median "rand$qd.$side" lat_p50)" 1) | $(fmt "$(median "rand$qd.$side" lat_p99)" 1) | $a |"
    done
  done
  if [ -s "$jmh_json" ]; then
    echo
    echo "## Allocation per command (JMH, \`-prof gc\`)"
    echo
    echo "\`CommandBench\`: the async forms keep 64 commands in flight (one"
    echo "operation = one command), the sync forms one; \`gc.alloc.rate.norm\` counts"
    echo "every thread, the reader thread included. Allocation that grows with the"
    echo "size would mean the payload is copied through the heap."
    echo
    echo "| benchmark | size | ns/command | bytes/command |"
    echo "|---|---:|---:|---:|"
    jq -r '.[] | "| \(.benchmark | split(".") | last) | \(.params.size) | \(.primaryMetric.score | floor) | \(.secondaryMetrics["gc.alloc.rate.norm"].score | floor) |"' "$jmh_json"
  fi
  echo
  echo "## Runs"
  echo
  echo "Every measurement, in run order within each case (round 1 first)."
  echo
  echo "| case | metric | values |"
  echo "|---|---|---|"
  awk -F'\t' '{ k = $1 "\t" $2; if (k in v) v[k] = v[k] " " $3; else { order[n++] = k; v[k] = $3 } }
    END { for (i = 0; i < n; i++) { split(order[i], p, "\t"); print "| " p[1] " | " p[2] " | " v[order[i]] " |" } }' "$results"
  echo
  echo "## What runs"
  echo
  echo "- sequential, jnbd: \`java ... io.jnbd.bench.SeqRead --uri=URI --connections=N --requests=$requests --request-size=$request_size --api=callback|future --passes=2\`"
  echo "- sequential, libnbd: \`nbdcopy --no-extents -S 0 --connections=N --threads=N --requests=$requests --request-size=$request_size URI null:\`"
  echo "- random, jnbd: \`java ... io.jnbd.bench.RandRead --uri=URI --qd=Q --block=4096 --seconds=$seconds --warmup=$warmup\`"
  echo "- random, libnbd: \`fio --name=randread --ioengine=nbd --uri=URI --rw=randread --bs=4k --iodepth=Q --size=$bytes --time_based --runtime=$seconds --ramp_time=$warmup --lat_percentiles=1\`"
  echo "- allocation: \`java ... org.openjdk.jmh.Main io.jnbd.bench.CommandBench -p uri=URI -prof gc${jmh_opts[*]:+ ${jmh_opts[*]}}\`"
  if [ -s "$kept" ]; then
    echo
    cat "$kept"
  fi
} > "$work/report.md"
# Replaced whole at the end: a failure while reporting leaves the old page as it was.
cp "$work/report.md" "$out"

# The summary table on the terminal too.
sed -n '/^## Against libnbd/,/^## Sequential read/p' "$out" | sed '$d'
echo "full report: $out"
