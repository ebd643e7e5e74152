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
out=$(mktemp)
OMP_NUM_THREADS=$threads "$build/bench/bench_ops" --threads "$threads" --benchmark_filter="$filter" \
    --benchmark_format=json --benchmark_out="$out" --benchmark_out_format=json >/dev/null
cat "$out"
/usr/bin/python3 bench/bench_ops_torch.py --threads "$threads" --filter "$filter" --nabla "$out"
