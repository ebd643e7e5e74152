#!/usr/bin/env bash
# bench/compare_models.sh — `nabla bench MODEL` against the same step on PyTorch (bench/bench_models_torch.py),
# interleaved: nabla, PyTorch, nabla, PyTorch, ... for ROUNDS rounds (default 3), so that both sides see the same
# machine state. Prints every JSON line, then the median over the rounds of each side's median step time and the
# ratios Nabla / PyTorch (below 1: Nabla is faster or smaller).
#   [ROUNDS=3] bench/compare_models.sh tinyseg --batch 2 --size 288 --threads 2 [--infer] [--steps N --warmup W]
#                                      [--memory-format channels_last|contiguous] [--precision bf16]
#                                      [--torch-precision fp32|bf16]
# --precision goes to both sides (PyTorch: torch.autocast on the CPU); --torch-precision sets PyTorch's alone, e.g.
# nabla in bf16 against PyTorch in float32.
# Needs a built build/nabla and Debian's python3-torch and libtcmalloc-minimal4 (NABLA_WITH_TORCH=1
# ./scripts/install_deps.sh). PyTorch runs as its CPU tuning guide says, with tcmalloc preloaded: with glibc's malloc
# it re-faults the pages of every large buffer it frees and allocates again, up to 6x slower on these machines. It
# gets the input layout nabla used (the model's default unless --memory-format is given).
set -euo pipefail
cd "$(dirname "$0")/.."
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
[[ -f $tcmalloc ]] || { echo "compare_models: $tcmalloc missing (NABLA_WITH_TORCH=1 ./scripts/install_deps.sh)" >&2; exit 1; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); pytorch allocator: tcmalloc ($tcmalloc)"
args=() torch_precision=""
while (($#)); do
    if [[ $1 == --torch-precision ]]; then torch_precision=$2; shift 2; else args+=("$1"); shift; fi
done
torch_args=("${args[@]}")
[[ -n $torch_precision ]] && torch_args+=(--precision "$torch_precision")
nabla_lines=() torch_lines=()
for ((round = 1; round <= ${ROUNDS:-3}; round++)); do
    nabla_json=$(./build/nabla bench "${args[@]}")
    memory_format=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["memory_format"])' "$nabla_json")
    torch_json=$(LD_PRELOAD=$tcmalloc /usr/bin/python3 bench/bench_models_torch.py "${torch_args[@]}" --memory-format "$memory_format" 2>/dev/null)
    echo "nabla:   $nabla_json"
    echo "pytorch: $torch_json"
    nabla_lines+=("$nabla_json") torch_lines+=("$torch_json")
done
/usr/bin/python3 - "${#nabla_lines[@]}" "${nabla_lines[@]}" "${torch_lines[@]}" <<'PY'
import json, statistics, sys
k = int(sys.argv[1])
n = [json.loads(s) for s in sys.argv[2:2 + k]]
t = [json.loads(s) for s in sys.argv[2 + k:]]
assert n[0]["params"] == t[0]["params"], f"parameter counts differ: nabla {n[0]['params']} vs pytorch {t[0]['params']}"
med = lambda rows, key: statistics.median(r[key] for r in rows)
ns, ts = med(n, "step_ms_median"), med(t, "step_ms_median")
print(f"median of {k} rounds: nabla {ns:.1f} ms ({n[0]['precision']}), pytorch {ts:.1f} ms ({t[0]['precision']}), "
      f"{n[0]['memory_format']}; "
      f"ratio step_ms {ns / ts:.3f} (pytorch/nabla {ts / ns:.2f}x)  "
      f"peak_rss_mb {med(n, 'peak_rss_mb') / med(t, 'peak_rss_mb'):.3f}")
PY
