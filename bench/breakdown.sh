#!/usr/bin/env bash
# bench/breakdown.sh — where each step of the README's speed table goes: for every row of bench/compare_all.sh (the
# Nabla side), `nabla trace record` of `nabla bench` (2 warmup + 10 timed steps), then the ops that take the most
# self time (`nabla trace report --stat`) and the share of the convolutions (forward, backward, fused) in the step.
#   bench/breakdown.sh [--threads N] [--only REGEX] [--keep DIR]    (default 2 threads, every row; traces in a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 only=. keep=""
while (($#)); do
    case $1 in
        --threads) threads=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        *) echo "usage: bench/breakdown.sh [--threads N] [--only REGEX] [--keep DIR]" >&2; exit 2 ;;
    esac
done
dir=${keep:-$(mktemp -d)}
mkdir -p "$dir"
# name | nabla bench arguments (compare_all.sh's rows, Nabla's side)
rows=(
    "pfld-train|pfld --batch 32 --size 112"
    "pfld-infer|pfld --batch 32 --size 112 --infer"
    "yolov5s-train|yolov5s --batch 4 --size 320"
    "yolov5s-infer|yolov5s --batch 4 --size 320 --infer"
    "u2netp-train|u2netp --batch 2 --size 288"
    "u2netp-infer|u2netp --batch 2 --size 288 --infer"
    "u2net-train|u2net --batch 2 --size 288"
    "u2net-infer|u2net --batch 2 --size 288 --infer"
    "panet-train|panet --batch 4 --size 48"
    "panet-infer|panet --batch 4 --size 48 --infer"
    "pfld-train-bf16|pfld --batch 32 --size 112 --precision bf16"
    "yolov5s-train-bf16|yolov5s --batch 4 --size 320 --precision bf16"
    "u2netp-train-bf16|u2netp --batch 2 --size 288 --precision bf16"
    "panet-train-bf16|panet --batch 4 --size 48 --precision bf16"
)
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); traces in $dir"
for row in "${rows[@]}"; do
    name=${row%%|*} args=${row#*|}
    [[ $name =~ $only ]] || continue
    # shellcheck disable=SC2086
    bench_json=$(./build/nabla trace record -o "$dir/$name.json" -- ./build/nabla bench $args --steps 10 --warmup 2 \
        --threads "$threads" 2>/dev/null | grep '^{')
    stat=$(./build/nabla trace report --stat "$dir/$name.json")
    # Self time of the ops and backward nodes (the modules' and the step's own time is bookkeeping); the table comes
    # sorted by self time, so its first rows are the largest.
    echo "$stat" | awk -v name="$name" -v bench="$bench_json" '
        $2 == "op" || $2 == "backward" || $2 == "optimizer" {
            self = $6; total += self
            if ($1 ~ /^conv/) conv += self
            if (n < 8) { top[++n] = $1; top_self[n] = self }
        }
        END {
            printf "\n%s: %s\n  ops %.0f ms in all, warmup included; convolutions %.0f ms (%.0f%%)\n", name, bench,
                total / 1000, conv / 1000, 100 * conv / total
            for (i = 1; i <= n; i++) printf "  %-34s %5.1f%%\n", top[i], 100 * top_self[i] / total
        }'
done
