#!/usr/bin/env bash
# bench/compare_models.sh — `nabla bench MODEL` against the same step on PyTorch (bench/bench_models_torch.py):
# prints both JSON lines and the ratios Nabla / PyTorch (below 1: Nabla is faster or smaller).
#   bench/compare_models.sh tinyseg --batch 2 --size 288 --threads 2 [--infer] [--steps N --warmup W]
#                           [--memory-format channels_last|contiguous]
# Needs a built build/nabla and Debian's python3-torch and libtcmalloc-minimal4 (NABLA_WITH_TORCH=1
# ./scripts/install_deps.sh). PyTorch runs as its CPU tuning guide says, with tcmalloc preloaded: with glibc's malloc
# it re-faults the pages of every large buffer it frees and allocates again, up to 6x slower on these machines.
set -euo pipefail
cd "$(dirname "$0")/.."
nabla_json=$(./build/nabla bench "$@")
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
[[ -f $tcmalloc ]] || { echo "compare_models: $tcmalloc missing (NABLA_WITH_TORCH=1 ./scripts/install_deps.sh)" >&2; exit 1; }
# PyTorch gets the input layout nabla used (the model's default unless --memory-format is given).
memory_format=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["memory_format"])' "$nabla_json")
torch_json=$(LD_PRELOAD=$tcmalloc /usr/bin/python3 bench/bench_models_torch.py "$@" --memory-format "$memory_format")
echo "pytorch allocator: tcmalloc ($tcmalloc)"
echo "nabla:   $nabla_json"
echo "pytorch: $torch_json"
/usr/bin/python3 - "$nabla_json" "$torch_json" <<'PY'
import json, sys
n, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert n["params"] == t["params"], f"parameter counts differ: nabla {n['params']} vs pytorch {t['params']}"
print(f"ratio step_ms_median {n['step_ms_median'] / t['step_ms_median']:.3f}  "
      f"step_ms_min {n['step_ms_min'] / t['step_ms_min']:.3f}  peak_rss_mb {n['peak_rss_mb'] / t['peak_rss_mb']:.3f}")
PY
