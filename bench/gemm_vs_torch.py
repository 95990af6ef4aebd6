#!/usr/bin/env python3
"""Where a large network's time goes, descent against PyTorch (CPU), same run: forward and
backward of an MLP (ReLU, cross-entropy, f32) and the matrix products they hold, alone.

    python3 bench/gemm_vs_torch.py [--layers 784,2048,2048,2048,10] [--batches 128,512]
                                   [--threads 2] [--passes 20]

For each batch size, both sides time the forward pass, forward+backward (the backward is
the difference), and the same products alone: Z = A·W per layer, dW = Aᵀ·dZ per layer and
dA = dZ·Wᵀ for all but the first. descent's side is the `mlp_profile_large` example
(faer's products with the network's row-major layouts); PyTorch's is `torch.nn` with
autograd and `torch.mm` on the same shapes (its oneDNN/MKL kernels). GFLOP/s count 2 per
multiply-add; the f32 FMA peak is `machine_bounds -- --fma`'s.
"""
import argparse
import os
import re
import subprocess
import sys
import time

from perf_grid import torch_mlp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def descent_side(sizes, batch, threads):
    out = subprocess.run(["cargo", "run", "--release", "-q", "-p", "descent", "--example",
                          "mlp_profile_large", "--", str(threads), str(batch),
                          ",".join(map(str, sizes))], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    ms = [float(v) for v in re.findall(r"([0-9.]+) ms \(", out)]
    # forward, backward, products' forward, products' backward
    return ms[-4], ms[-3], ms[-2], ms[-1]


def torch_side(torch, sizes, batch, passes):
    model = torch_mlp(torch, sizes)
    lossf = torch.nn.CrossEntropyLoss()
    x = torch.rand(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def timed(f):
        for _ in range(3):
            f()
        t = time.perf_counter()
        for _ in range(passes):
            f()
        return (time.perf_counter() - t) / passes * 1e3

    def forward():
        with torch.no_grad():
            model(x)

    def both():
        model.zero_grad(set_to_none=True)
        lossf(model(x), y).backward()

    mats = [(torch.rand(batch, a), torch.rand(a, b), torch.rand(batch, b)) for a, b in zip(sizes, sizes[1:])]

    def products_forward():
        for a, w, _ in mats:
            torch.mm(a, w)

    def products_backward():
        for i, (a, w, dz) in enumerate(mats):
            torch.mm(a.t(), dz)
            if i > 0:
                torch.mm(dz, w.t())

    tf = timed(forward)
    return tf, timed(both) - tf, timed(products_forward), timed(products_backward)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", default="784,2048,2048,2048,10")
    ap.add_argument("--batches", default="128,512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--passes", type=int, default=20)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    sizes = [int(v) for v in a.layers.split(",")]
    peak_line = next(l for l in subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "descent", "--example", "machine_bounds", "--", "--fma"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.splitlines() if l.startswith("f32 FMA peak"))
    peak = float(peak_line.split()[-2])
    macs = [x * y for x, y in zip(sizes, sizes[1:])]
    print(f"{peak_line}; {a.threads} threads; PyTorch {torch.__version__}; layers {a.layers}")
    print(f"{'batch':>5} {'':>10} {'forward ms':>11} {'GF/s':>5} {'%pk':>4} {'backward ms':>12} {'GF/s':>5} {'%pk':>4}")
    for batch in [int(v) for v in a.batches.split(",")]:
        ff = 2 * sum(macs) * batch / 1e6
        bf = 2 * (2 * sum(macs) - macs[0]) * batch / 1e6
        d = descent_side(sizes, batch, a.threads)
        t = torch_side(torch, sizes, batch, a.passes)
        for name, (f, b) in [("descent", d[:2]), ("products", d[2:]), ("torch", t[:2]), ("torch.mm", t[2:])]:
            print(f"{batch:>5} {name:>10} {f:>11.2f} {ff / f:>5.0f} {100 * ff / f / peak:>4.0f}"
                  f" {b:>12.2f} {bf / b:>5.0f} {100 * bf / b / peak:>4.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
