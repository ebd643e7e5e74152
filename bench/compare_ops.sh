#!/usr/bin/env bash
# bench/compare_ops.sh — forward+backward time per op, Nabla against PyTorch 1.13 on the same cases and threads.
#   bench/compare_ops.sh [THREADS] [FILTER]      (prints both JSON results and a ratio table; ratio < 1: Nabla faster)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
filter=${2:-}
NABLA_WITH_TORCH=1 ./scripts/install_deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target bench_ops
mkdir -p "$build/bench"
out="$build/bench/nabla_ops.json"
OMP_NUM_THREADS=$threads "$build/bench/bench_ops" --threads "$threads" --benchmark_filter="$filter" \
    --benchmark_out="$out" --benchmark_out_format=json >/dev/null
echo "nabla results: $out (Google Benchmark JSON); PyTorch results follow as one JSON line on stderr"
# PyTorch as its CPU tuning guide runs it: with tcmalloc (glibc's malloc re-faults the pages of every large buffer).
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
echo "pytorch allocator: tcmalloc ($tcmalloc)"
LD_PRELOAD=$tcmalloc /usr/bin/python3 bench/bench_ops_torch.py --threads "$threads" --filter "$filter" --nabla "$out"
