#!/usr/bin/env bash
# bench/compare_all.sh — the README's speed table: bench/compare_models.sh for every model's training step and
# inference in float32, and the training step in bfloat16 against PyTorch in float32 and in its own bf16 autocast,
# one after the other in one run; prints each comparison's lines, then one Markdown table (times are the medians of
# ROUNDS interleaved rounds, default 3; ratio = PyTorch / Nabla, above 1: Nabla faster; RSS = peak resident MB).
#   bench/compare_all.sh [--threads N] [--only REGEX]      (default 2 threads, every row)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 only=.
while (($#)); do
    case $1 in
        --threads) threads=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "usage: bench/compare_all.sh [--threads N] [--only REGEX]" >&2; exit 2 ;;
    esac
done
source bench/rows.sh
table=("| step (\`compare_models.sh\` arguments, \`--threads $threads\`) | Nabla ms | PyTorch ms | PyTorch / Nabla | RSS Nabla / PyTorch MB |"
       "|---|---|---|---|---|")
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
for row in "${rows[@]}"; do
    name=${row%%|*} args=${row#*|}
    [[ $name =~ $only ]] || continue
    echo "=== $name: bench/compare_models.sh $args --threads $threads"
    # shellcheck disable=SC2086
    out=$(bench/compare_models.sh $args --threads "$threads")
    echo "$out"
    summary=$(grep '^median of' <<<"$out")
    nabla_ms=$(sed -E 's/.*nabla ([0-9.]+) ms.*/\1/' <<<"$summary")
    torch_ms=$(sed -E 's/.*pytorch ([0-9.]+) ms.*/\1/' <<<"$summary")
    rss() { grep "^$1:" <<<"$out" | sed -E 's/.*"peak_rss_mb": ?([0-9.]+).*/\1/' | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
    ratio=$(awk -v n="$nabla_ms" -v t="$torch_ms" 'BEGIN {printf "%.2f", t / n}')
    table+=("| $name (\`$args\`) | $nabla_ms | $torch_ms | $ratio | $(rss nabla) / $(rss pytorch) |")
done
printf '%s\n' "${table[@]}"
