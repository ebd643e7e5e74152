#!/usr/bin/python3
"""bench/bench_models_torch.py — `nabla bench`'s twin on PyTorch: the same training step (zero_grad, forward, loss,
backward, optimizer step) or inference forward on synthetic data, printed as the same JSON line.

    /usr/bin/python3 bench/bench_models_torch.py tinyseg --batch 2 --size 288 --threads 2 [--infer] [--precision bf16]
--precision bf16 runs the forward and the loss under torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's own mixed
precision on the CPU (its backward follows the forward's dtypes).
Compare the two with bench/compare_models.sh. Install Debian's python3-torch and libopenblas0-pthread (without a
real BLAS PyTorch falls back to a slow reference one); the BLAS in use is printed on stderr.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import torch_models  # noqa: E402


def blas_in_use():
    """The BLAS library actually mapped into this process (Debian's torch uses whatever libblas.so.3 points at)."""
    torch.randn(64, 64) @ torch.randn(64, 64)  # make sure the BLAS is loaded
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    return ", ".join(os.path.basename(l) for l in libs) or "no BLAS library mapped"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=sorted(torch_models.MODELS))
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", type=int, default=0, help="input side (default: the side the model trains at, as nabla bench)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--infer", action="store_true")
    p.add_argument("--set", action="append", default=[], help="model argument KEY=VALUE")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--memory-format", choices=["channels_last", "contiguous"], default="contiguous",
                   help="channels_last: model and input in torch.channels_last, as torch's CPU tuning guide advises")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {blas_in_use()}, {torch.get_num_threads()} threads", file=sys.stderr)
    torch.manual_seed(0)
    args = dict(kv.split("=", 1) for kv in a.set)
    model = torch_models.MODELS[a.model](args)
    gen = torch.Generator().manual_seed(0)
    a.size = a.size or torch_models.INPUT_SIZE[a.model]
    shape = (a.batch, torch_models.IN_CHANNELS[a.model], a.size, a.size)
    x = torch.randn(*shape, generator=gen)
    if a.memory_format == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch_models.make_target(a.model, shape, gen)
    opt = None
    if a.infer:
        model.eval()
    else:
        model.train()
        opt = torch_models.optimizer(a.model, model)
    amp = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")  # noqa: E731
    times = []
    for i in range(a.warmup + a.steps):
        start = time.perf_counter()
        if a.infer:
            with torch.no_grad(), amp():
                model(x)
        else:
            opt.zero_grad(set_to_none=True)
            with amp():
                loss = torch_models.loss(a.model, model(x), target, model)
            loss.backward()
            opt.step()
        ms = (time.perf_counter() - start) * 1000
        if i >= a.warmup:
            times.append(ms)
    median = statistics.median(times)
    print(json.dumps({
        "model": a.model, "mode": "infer" if a.infer else "train", "batch": a.batch, "size": a.size,
        "threads": torch.get_num_threads(), "memory_format": a.memory_format, "precision": a.precision, "step_ms_median": round(median, 3), "step_ms_min": round(min(times), 3),
        "images_per_s": round(a.batch / (median / 1000), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "params": sum(p.numel() for p in model.parameters()),
        "framework": "pytorch " + torch.__version__}))


if __name__ == "__main__":
    main()
