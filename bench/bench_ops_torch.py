"""bench/bench_ops_torch.py — the cases of op_cases.json on PyTorch 1.13: forward+backward time per op, as JSON.

    /usr/bin/python3 bench/bench_ops_torch.py --threads 2 [--nabla nabla.json]

With --nabla (the output of `bench_ops --benchmark_format=json`) it also prints nabla/torch ratios (< 1: nabla faster).
Install Debian's PyTorch with a real BLAS first: NABLA_WITH_TORCH=1 scripts/install_deps.sh (libopenblas0-pthread).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def make_case(c):
    r = lambda s: torch.randn(*s, requires_grad=True)
    op = c["op"]
    if op in ("conv2d", "conv_transpose2d"):
        x, w = r(c["x"]), r(c["w"])
        g = c.get("groups", 1)
        b = r([w.shape[0] if op == "conv2d" else w.shape[1] * g])
        if op == "conv2d":
            return [x, w, b], lambda: F.conv2d(x, w, b, c.get("stride", 1), c.get("padding", 0), c.get("dilation", 1), g)
        return [x, w, b], lambda: F.conv_transpose2d(x, w, b, c.get("stride", 1), c.get("padding", 0), c.get("output_padding", 0), g)
    if op == "matmul":
        a, b = r(c["a"]), r(c["b"])
        return [a, b], lambda: a @ b
    if op == "batch_norm":
        x = r(c["x"])
        w, b = torch.ones(x.shape[1], requires_grad=True), torch.zeros(x.shape[1], requires_grad=True)
        rm, rv = torch.zeros(x.shape[1]), torch.ones(x.shape[1])
        return [x, w, b], lambda: F.batch_norm(x, rm, rv, w, b, True)
    if op == "bilinear":
        x = r(c["x"])
        return [x], lambda: F.interpolate(x, size=c["size"], mode="bilinear", align_corners=False)
    if op == "bicubic":
        x = r(c["x"])
        return [x], lambda: F.interpolate(x, scale_factor=c["scale"], mode="bicubic", align_corners=True)
    if op == "unfold":
        x = r(c["x"])
        return [x], lambda: F.unfold(x, c["kernel"], padding=c.get("padding", 0))
    if op == "pixel_shuffle":
        x = r(c["x"])
        return [x], lambda: F.pixel_shuffle(x, c["r"]).contiguous()
    if op == "max_pool2d":
        x = r(c["x"])
        return [x], lambda: F.max_pool2d(x, c["kernel"], c.get("stride"), ceil_mode=c.get("ceil_mode", False))
    if op == "relu":
        x = r(c["x"])
        return [x], lambda: F.relu(x)
    if op in ("add", "cat"):
        x, y = r(c["x"]), r(c["y"])
        return [x, y], (lambda: x + y) if op == "add" else (lambda: torch.cat([x, y], 1))
    if op == "softmax":
        x = r(c["x"])
        return [x], lambda: torch.softmax(x, c["dim"])
    if op == "bce_with_logits":
        x = r(c["x"])
        t = (torch.rand(x.shape) > 0.5).float()
        return [x], lambda: F.binary_cross_entropy_with_logits(x, t).reshape(1)
    raise ValueError(op)


def time_case(c, min_time=0.5):
    inputs, f = make_case(c)
    gy = torch.randn(f().shape)
    def step():
        y = f()
        y.backward(gy)
        for t in inputs:
            t.grad = None
    for _ in range(2):
        step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def loaded_blas():
    """The BLAS library this process actually loaded (Debian's torch uses whatever libblas.so.3 points to)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line}
    return sorted(os.path.basename(l) for l in libs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=os.path.join(HERE, "op_cases.json"))
    ap.add_argument("--nabla", help="nabla's Google Benchmark JSON output, to print ratios")
    ap.add_argument("--filter", default="", help="only cases whose name contains this")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    blas = loaded_blas()
    cases = [c for c in json.load(open(args.cases)) if args.filter in c["name"]]
    results = {c["name"]: time_case(c) for c in cases}
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "blas": blas, "ms": results}), file=sys.stderr if args.nabla else sys.stdout)
    if args.nabla:
        nab = {b["name"].split("/min_time")[0]: b["real_time"] for b in json.load(open(args.nabla))["benchmarks"]}
        print(f"{'case':<40} {'nabla ms':>10} {'torch ms':>10} {'ratio':>7}")
        for name, t in results.items():
            if name in nab:
                print(f"{name:<40} {nab[name]:>10.3f} {t:>10.3f} {nab[name] / t:>7.2f}")
        print(f"torch {torch.__version__}, {args.threads} threads, BLAS: {', '.join(blas) or 'none found'}")


if __name__ == "__main__":
    main()
