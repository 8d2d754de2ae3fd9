# Shared by bench/run.sh and bench/tls.sh (sourced, not run): the JDK, the
# build, a work directory cleaned up on exit, and one nbdkit server on a Unix
# socket in it.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# libnbd 1.22's nbdcopy (the version jnbd matches) from the trixie chroot of
# .ci/trixie.sh when it is there; the work directory below is under /tmp,
# which the chroot shares. Otherwise the host's nbdcopy.
if [ -x /opt/trixie/usr/bin/nbdcopy ] && mountpoint -q /opt/trixie/tmp; then
  nbdcopy() { chroot /opt/trixie nbdcopy "$@"; }
fi

# Builds the bench module and sets jvm: the command that runs its classes.
bench_build() {
  echo "building..." >&2
  ./mvnw -q -B package -DskipTests -pl bench -am
  local cp
  cp="$(ls bench/target/jnbd-bench-*.jar):bench/target/lib/*"
  # shellcheck disable=SC2206 # BENCH_JAVA_OPTS is a list of options
  jvm=("$java" --enable-native-access=ALL-UNNAMED ${BENCH_JAVA_OPTS:-} -cp "$cp")
}

# bench_aot URI: trains an AOT cache (JEP 483/514/515: classes loaded and linked,
# method profiles) with a 1 GiB SeqRead of URI and adds it to jvm, so that the
# measured processes start as a deployed Java application would, and as ./jnbd
# does with the cache its build trains. BENCH_AOT=0: no cache, a cold JVM.
bench_aot() {
  [ "${BENCH_AOT:-1}" = 1 ] || return 0
  local cache=$work/seqread.aot
  rm -f "$cache"
  "${jvm[@]:0:1}" -Xlog:disable -Xlog:all=error:stderr -XX:AOTCacheOutput="$cache" "${jvm[@]:1}" \
    io.jnbd.bench.SeqRead --uri="$1" --size=1G --passes=1 > /dev/null
  jvm=("${jvm[0]}" -Xlog:disable -Xlog:all=warning:stderr -XX:AOTCache="$cache" "${jvm[@]:1}")
}

work=$(mktemp -d /tmp/jnbd-bench.XXXXXX)
sock=$work/nbd.sock
nbdkit_pid=
cleanup() {
  if [ -n "$nbdkit_pid" ]; then
    kill "$nbdkit_pid" 2>/dev/null || true
    wait "$nbdkit_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_nbdkit ARGS...: nbdkit on $sock; returns once its pid file says it listens.
start_nbdkit() {
  rm -f "$work/nbdkit.pid"
  nbdkit -f --exit-with-parent -U "$sock" -P "$work/nbdkit.pid" "$@" &
  nbdkit_pid=$!
  for _ in $(seq 100); do
    [ -s "$work/nbdkit.pid" ] && return
    kill -0 "$nbdkit_pid" 2>/dev/null || die "nbdkit failed to start"
    sleep 0.1
  done
  die "nbdkit did not become ready"
}

stop_nbdkit() {
  kill "$nbdkit_pid"
  wait "$nbdkit_pid" 2>/dev/null || true
  nbdkit_pid=
  rm -f "$sock"
}

# replace_section NAME SECTION OUT: puts file SECTION, which begins with
# "<!-- NAME:begin -->" and ends with "<!-- NAME:end -->", in place of that
# section of OUT, or at its end if it has none.
replace_section() {
  if [ -f "$3" ] && grep -q "<!-- $1:begin -->" "$3"; then
    awk -v f="$2" -v b="<!-- $1:begin -->" -v e="<!-- $1:end -->" '$0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
      $0 == e { skip = 0; next } !skip' "$3" > "$work/replaced.md"
    cp "$work/replaced.md" "$3"
  else
    { echo; cat "$2"; } >> "$3"
  fi
}
