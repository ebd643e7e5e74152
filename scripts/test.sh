#!/usr/bin/env bash
# scripts/test.sh — the whole test suite: installs what is missing, configures, builds, runs CTest, prints the summary.
#   ./scripts/test.sh            (BUILD_DIR=build by default; JOBS defaults to the number of cores)
#   ./scripts/test.sh --sanitize          the suite built with ASan + UBSan + LSan (BUILD_DIR=build-asan, CPU backends
#                                         only), stopping at the first report; three tests are left out (see below)
#   ./scripts/test.sh --sanitize=thread   TSan (BUILD_DIR=build-tsan): the DataLoader and tracer tests only, with
#                                         scripts/tsan.supp for the uninstrumented libgomp and oneDNN
# docs/reliability.md gives the times and what the sanitizers found.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
case "${1:-}" in
    "") ;;
    --sanitize | --sanitize=address) sanitize=address ;;
    --sanitize=thread) sanitize=thread ;;
    *)
        echo "usage: scripts/test.sh [--sanitize | --sanitize=address | --sanitize=thread]" >&2
        exit 2
        ;;
esac
./scripts/install_deps.sh
jobs=${JOBS:-$(nproc)}
if [[ -z $sanitize ]]; then
    build=${BUILD_DIR:-build}
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$build" -j "$jobs"
    cd "$build"
    ctest --output-on-failure -j "$jobs" --timeout 900
    exit 0
fi

if [[ $sanitize == address ]]; then
    build=${BUILD_DIR:-build-asan}
    # -O1 -g1: what the sanitizers recommend, and quicker to build than -O2 -g
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
        -DNABLA_SANITIZE=address -DNABLA_BUILD_BENCH=OFF -DNABLA_CUDA=OFF
    cmake --build "$build" -j "$jobs"
    cd "$build"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
    # Left out: the package test (its consumer is built without the sanitizer runtime) and the two fault tests that
    # measure the process rather than check it: resident memory (ASan's quarantine keeps freed blocks) and how many
    # kills land inside a save (ASan's slowdown moves them).
    ctest --output-on-failure -j "$jobs" --timeout 3600 -E '^(package/|faults/memory_bound$|faults/crash_safety$)'
else
    build=${BUILD_DIR:-build-tsan}
    # -O1 -g1: what the sanitizers recommend, and quicker to build than -O2 -g
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
        -DNABLA_SANITIZE=thread -DNABLA_BUILD_BENCH=OFF -DNABLA_CUDA=OFF
    # Only the tests that run threads of their own: the DataLoader's workers and the tracer's per-thread buffers.
    pattern='^(nn/dataloader|core/trace)'
    targets=$(cd "$build" && ctest -N -R "$pattern" | sed -nE 's/^ *Test +#[0-9]+: ([a-z_]+)\/([a-z_0-9]+)$/test_\1_\2/p' | sort -u)
    cmake --build "$build" -j "$jobs" --target $targets
    cd "$build"
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../scripts/tsan.supp}
    ctest --output-on-failure -j "$jobs" --timeout 3600 -R "$pattern"
fi
