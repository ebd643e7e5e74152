#!/usr/bin/env bash
# bench/ddp_scaling.sh — data-parallel scaling of a training step on this machine: `nabla bench MODEL` as 1 process
# with every core against `mpirun -np N` processes sharing them (docs/distributed.md), the same global batch,
# interleaved rounds, medians; then one traced 2-rank run for the communication time per step. Prints one JSON line.
#   bench/ddp_scaling.sh [MODEL] [BATCH] [SIZE] [RANKS] [ROUNDS]     defaults: u2netp 4 288 2 3
# BUILD_DIR as in scripts/test.sh. Scaling efficiency = (1-process step time) / (N-process step time): 1.0 means the N
# processes together go as fast as one process with all the cores (on one machine that is the best N ranks can do:
# they share the same cores; across machines the ideal would be N).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-u2netp} batch=${2:-4} size=${3:-288} ranks=${4:-2} rounds=${5:-3}
nabla=${BUILD_DIR:-build}/nabla
cores=$(nproc)
mpi=(mpirun -np "$ranks" --mca btl_vader_single_copy_mechanism none)
[[ $(id -u) -eq 0 ]] && mpi+=(--allow-run-as-root)
[[ $ranks -gt $cores ]] && mpi+=(--oversubscribe)
common=(bench "$model" --batch "$batch" --size "$size" --steps 10 --warmup 3)
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/"; }
one=() many=()
for ((r = 0; r < rounds; ++r)); do
    one+=("$("$nabla" "${common[@]}" --threads "$cores" | field step_ms_median)")
    many+=("$("${mpi[@]}" "$nabla" "${common[@]}" | field step_ms_median)")
done
t1=$(printf '%s\n' "${one[@]}" | median)
tn=$(printf '%s\n' "${many[@]}" | median)
# The communication of one step, from each rank's trace over 5 steps: the time inside collectives (starting the
# bucket all-reduces, waiting for them, the small blocking all-reduces, which also absorb the other rank being late)
# and the bytes of gradients all-reduced.
trace=$(mktemp -d)
NABLA_TRACE=function NABLA_TRACE_STEPS=skip=3,active=5,repeat=1 NABLA_TRACE_FILE="$trace/t.json" \
    "${mpi[@]}" "$nabla" "${common[@]}" >/dev/null 2>&1
comm_ms() {
    "$nabla" trace report --stat "$trace/t.rank$1.json" |
        awk '$2 == "comm" {gsub(/ us/, "", $0); s += $4} END {printf "%.2f", s / 5 / 1000}'
}
comm0=$(comm_ms 0) comm1=$(comm_ms 1)
bytes=$(grep -o '"all_reduce_async"[^}]*"bytes":[0-9]*' "$trace/t.rank0.json" | sed -E 's/.*"bytes":([0-9]+)/\1/' |
    awk '{s += $1} END {printf "%d", s / 5}')
rm -rf "$trace"
printf '{"model":"%s","batch":%s,"size":%s,"cpu":"%s","cores":%s,"ranks":%s,"one_process_ms":%s,"ranks_ms":%s,' \
    "$model" "$batch" "$size" "$(lscpu | sed -nE 's/^Model name: +//p')" "$cores" "$ranks" "$t1" "$tn"
printf '"efficiency":%s,"comm_ms_per_step_rank0":%s,"comm_ms_per_step_rank1":%s,"allreduce_bytes_per_step":%s}\n' \
    "$(awk -v a="$t1" -v b="$tn" 'BEGIN {printf "%.3f", a / b}')" "$comm0" "$comm1" "$bytes"
