#!/usr/bin/env bash
# Fuzzes jnbd's decoders of untrusted input with Jazzer (the library's of
# server input, the embedded server's of client input), each target for the
# given number of seconds (default 60):
#
#   fuzz/run.sh [seconds-per-target] [FuzzTestClass ...]
#
# A target is a class *FuzzTest under core/src/test/java/io/jnbd/fuzz or
# server/src/test/java/io/jnbd/server/fuzz, each with one @FuzzTest method
# (Jazzer fuzzes one per JVM). Without names, all are
# fuzzed, FUZZ_JOBS at a time (default: one per processor; a target keeps one
# busy). Exits 1 if any target had a finding: Jazzer saves the input next to
# the seeds, where `./mvnw verify` replays it as a failing test until the bug
# is fixed. docs/fuzzing.md has the details.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64

seconds=${1:-60}
shift || true
case $seconds in
    '' | *[!0-9]*) echo "usage: fuzz/run.sh [seconds-per-target] [FuzzTestClass ...]" >&2; exit 2 ;;
esac
jobs=${FUZZ_JOBS:-$(nproc)}

# Each module's targets, their seeds and saved findings, and the logs of a run.
modules=(core server)
declare -A sources=([core]=core/src/test/java/io/jnbd/fuzz [server]=server/src/test/java/io/jnbd/server/fuzz)
declare -A inputs=([core]=core/src/test/resources/io/jnbd/fuzz [server]=server/src/test/resources/io/jnbd/server/fuzz)

# The module that holds a target, or nothing.
module_of() {
    local m
    for m in "${modules[@]}"; do
        if [ -f "${sources[$m]}/$1.java" ]; then
            echo "$m"
            return
        fi
    done
}

if [ $# -gt 0 ]; then
    targets=("$@")
    for t in "${targets[@]}"; do
        if [ -z "$(module_of "$t")" ]; then
            echo "fuzz/run.sh: no fuzz target $t in ${sources[*]}" >&2
            exit 2
        fi
    done
else
    targets=()
    for m in "${modules[@]}"; do
        mapfile -t -O "${#targets[@]}" targets < <(cd "${sources[$m]}" && ls -- *FuzzTest.java | sed 's/\.java$//')
    done
fi

# The server's tests need core's classes and test fixtures: the two modules build, and later run, as one reactor.
./mvnw -B -ntp -q -pl core,server test-compile
started=$(mktemp)
trap 'rm -f "$started"' EXIT
for m in "${modules[@]}"; do
    rm -rf "$m/target/fuzz"
    mkdir -p "$m/target/fuzz"
done

# A heap this small turns an allocation sized by what a server (or, for the
# server's targets, a client) claims into an OutOfMemoryError, which Jazzer
# reports with the stack that allocated; the bounds the decoders promise (16 MiB
# per option reply or block status chunk; the server's 1 MiB per option and
# 32 MiB per request payload) fit easily. The JUnit integration has no setting for libFuzzer's flags: it
# appends those given as jazzer.internal.arg.N (argument 0 is a program name)
# after its own. -rss_limit_mb, which it turns off, catches memory outside the
# heap (leaked reader threads); -timeout catches an input that never finishes
# (JUnit's @Timeout cannot: it would limit the whole fuzzing run).
jvm_args="-Xmx256m -XX:MaxDirectMemorySize=256m"
libfuzzer_args=(-Djazzer.internal.arg.0=jnbd-fuzz -Djazzer.internal.arg.1=-rss_limit_mb=2048
    -Djazzer.internal.arg.2=-timeout=30)

fuzz() {
    local t=$1 m log start status runs summary projects
    m=$(module_of "$t")
    log="$m/target/fuzz/$t.log"
    # Surefire finds no such test in core when the target is the server's, and goes on.
    projects=$([ "$m" = core ] && echo core || echo "core,$m")
    start=$(date +%s)
    # Maven itself only starts the test JVM here: C1 alone does that on half the CPU.
    # Each job gets its own surefire temp dir: parallel jobs would delete each other's booter jars.
    if MAVEN_OPTS="${MAVEN_OPTS:-} -XX:TieredStopAtLevel=1" JAZZER_FUZZ=1 JAZZER_MAX_DURATION="${seconds}s" \
            ./mvnw -B -ntp -pl "$projects" surefire:test \
            -Dtest="$t" -Dsurefire.failIfNoSpecifiedTests=false -Djnbd.test.jvmArgs="$jvm_args" \
            -DtempDir="surefire-fuzz-$t" \
            "${libfuzzer_args[@]}" >"$log" 2>&1; then
        status=ok
    else
        status=FINDING
    fi
    runs=$(grep -aoE '^#[0-9]+[[:space:]]+DONE .*exec/s: [0-9]+' "$log" | tail -1 \
        | sed -E 's/^#([0-9]+).*exec\/s: ([0-9]+)/\1 runs, \2 execs\/s/' || true)
    # Built first and printed in one go, so that targets running side by side do not interleave.
    summary=$(
        printf '%-28s %-8s %4ss  %s\n' "$t" "$status" "$(($(date +%s) - start))" "${runs:-no fuzzing statistics}"
        if [ $status != ok ]; then
            # The finding in brief: what was thrown, where in jnbd, and where Jazzer saved the input.
            grep -aE '<<< (ERROR|FAILURE)!|^([a-z]+\.)+[A-Za-z]*(Exception|Error)\b|^Caused by:|^[[:space:]]+at io\.jnbd\.|ERROR: libFuzzer|^==[0-9]+== |terminated without|Test unit written' \
                "$log" | head -25 | cut -c1-300 | sed 's/^/    /' || true
            echo "    full log: $log"
        fi
    )
    printf '%s\n' "$summary"
    [ $status = ok ]
}

failed=0
running=0
for t in "${targets[@]}"; do
    if [ $running -ge "$jobs" ]; then
        wait -n || failed=$((failed + 1))
        running=$((running - 1))
    fi
    fuzz "$t" &
    running=$((running + 1))
done
while [ $running -gt 0 ]; do
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
done

new=$(find "${inputs[@]}" -type f -newer "$started" 2>/dev/null || true)
if [ -n "$new" ]; then
    echo "inputs saved by Jazzer (./mvnw verify replays them; keep them with the fix):"
    echo "$new" | sed 's/^/    /'
fi
# The summary in the form test runners close with: a target passes when fuzzing found nothing.
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
[ $failed -eq 0 ]
