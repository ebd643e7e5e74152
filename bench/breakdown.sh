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
source bench/rows.sh
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); traces in $dir"
declare -A traced  # Nabla's side of a row once: "bf16 vs PyTorch fp32" and "both bf16" share it
for row in "${rows[@]}"; do
    name=${row%%|*} args=$(sed -E 's/ --torch-precision [a-z0-9]+//' <<<"${row#*|}")
    [[ $name =~ $only && -z ${traced[$args]:-} ]] || continue
    traced[$args]=1
    name=${name/, bf16 vs PyTorch fp32/, bf16}  # the step, whatever PyTorch ran beside it
    trace=$dir/$(tr -c 'A-Za-z0-9\n' '_' <<<"$name").json
    # shellcheck disable=SC2086
    bench_json=$(./build/nabla trace record -o "$trace" -- ./build/nabla bench $args --steps 10 --warmup 2 \
        --threads "$threads" 2>/dev/null | grep '^{')
    stat=$(./build/nabla trace report --stat "$trace")
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
