#!/usr/bin/env bash
# scripts/fuzz.sh — builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in build-fuzz/) and runs one or
# all of them for SECONDS each over their seeds (tests/fuzz/corpus/<target>) and regressions, printing libFuzzer's
# final statistics (executions, coverage `cov:` and features `ft:`). docs/reliability.md describes the targets.
#   ./scripts/fuzz.sh                  every target, 60 s each
#   ./scripts/fuzz.sh image 300        one target, 300 s
#   ./scripts/fuzz.sh list             the target names
# New inputs go to build-fuzz/corpus/<target>, crashes to build-fuzz/artifacts/<target>/; a crash, once fixed,
# becomes a committed regression input: tests/fuzz/regressions/<target>/<name> (test_fuzz_replay runs them).
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS=-jobs=2); BUILD_DIR and JOBS as in scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
all=$(ls tests/fuzz/corpus)
which=${1:-all}
seconds=${2:-60}
if [[ $which == list ]]; then
    echo "$all"
    exit 0
fi
if [[ $which != all ]] && ! grep -qx "$which" <<<"$all"; then
    echo "fuzz.sh: unknown target '$which' (one of: $(echo $all))" >&2
    exit 2
fi
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS=-gline-tables-only \
    -DNABLA_FUZZ=ON -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_BENCH=OFF -DNABLA_CUDA=OFF >/dev/null
if [[ $which == all ]]; then
    cmake --build "$build" --target fuzz_all -j "$jobs"
else
    cmake --build "$build" --target "fuzz_$which" -j "$jobs"
fi

# One OpenMP thread: the readers are serial, and the model target's dry run should not take every core.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
summary=()
status=0
for t in $( [[ $which == all ]] && echo "$all" || echo "$which" ); do
    corpus=$build/corpus/$t
    artifacts=$build/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    dirs=("$corpus" "tests/fuzz/corpus/$t")
    [[ -d tests/fuzz/regressions/$t ]] && dirs+=("tests/fuzz/regressions/$t")
    log=$build/fuzz_$t.log
    echo "=== fuzz_$t for ${seconds}s (log: $log)"
    # -rss_limit_mb bounds the process (a reader that exhausts memory is reported as a crash); -timeout one input.
    rc=0
    start=$SECONDS
    "$build/tests/fuzz/fuzz_$t" "${dirs[@]}" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=30 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} >"$log" 2>&1 || rc=$?
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    [[ -z $done_line ]] && done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | awk '{print $2}' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | awk '{print $2}' || true)
    line="$t: $((SECONDS - start))s, ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}"
    if [[ $rc != 0 ]]; then
        line="$line, FAILED (exit $rc; see $log and $artifacts/)"
        grep -E 'ERROR: |SUMMARY: |runtime error|terminate called|what\(\)' "$log" | head -5 || true
        status=1
    fi
    echo "$line"
    summary+=("$line")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
