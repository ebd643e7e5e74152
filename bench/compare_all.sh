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
# name | compare_models.sh arguments
rows=(
    "PFLD training|pfld --batch 32 --size 112"
    "PFLD inference|pfld --batch 32 --size 112 --infer"
    "YOLOv5s training|yolov5s --batch 4 --size 320"
    "YOLOv5s inference|yolov5s --batch 4 --size 320 --infer"
    "U2NETP training|u2netp --batch 2 --size 288"
    "U2NETP inference|u2netp --batch 2 --size 288 --infer"
    "U2NET training|u2net --batch 2 --size 288"
    "U2NET inference|u2net --batch 2 --size 288 --infer"
    "PANet training|panet --batch 4 --size 48"
    "PANet inference|panet --batch 4 --size 48 --infer"
    "PFLD training, bf16 vs PyTorch fp32|pfld --batch 32 --size 112 --precision bf16 --torch-precision fp32"
    "YOLOv5s training, bf16 vs PyTorch fp32|yolov5s --batch 4 --size 320 --precision bf16 --torch-precision fp32"
    "U2NETP training, bf16 vs PyTorch fp32|u2netp --batch 2 --size 288 --precision bf16 --torch-precision fp32"
    "PANet training, bf16 vs PyTorch fp32|panet --batch 4 --size 48 --precision bf16 --torch-precision fp32"
    "PFLD training, both bf16|pfld --batch 32 --size 112 --precision bf16"
    "YOLOv5s training, both bf16|yolov5s --batch 4 --size 320 --precision bf16"
    "U2NETP training, both bf16|u2netp --batch 2 --size 288 --precision bf16"
    "PANet training, both bf16|panet --batch 4 --size 48 --precision bf16"
)
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
