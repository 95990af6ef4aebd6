#!/usr/bin/env python3
"""Network training throughput over a grid of sizes: descent against PyTorch (CPU), same run.

Every cell trains an MLP on MNIST rows (784 inputs, 10 classes, ReLU, cross-entropy, f32)
with SGD (lr 0.01) or Adam (lr 1e-3) on the same number of threads, and reports samples per
second of the training loop (forward, backward, step, and gathering the batch's rows; not
data loading or evaluation) for both, their ratio, and the fraction of the machine's f32
FMA peak each reaches. The grid: hidden widths 128, 512, 1024, 2048; 1 and 3 hidden
layers; batch 32, 128, 512; SGD and Adam (48 cells), or the part named by the options.

    python3 bench/perf_grid.py [--widths 512,2048] [--depths 1,3] [--batches 32,128,512]
                               [--optimizers sgd,adam] [--threads 2] [--seconds 2]
                               [--binary PATH]

FLOPs per sample: 2 per multiply-add of the forward products (Σ nᵢ·nₒ) and the backward
ones (dW for every layer, dX for all but the first): 2·(3·Σ nᵢ·nₒ − n₀·n₁). The peak is
the `machine_bounds` example's (`--fma`): independent FMA chains on the widest vectors the
CPU has. PyTorch is optional (`pip install torch numpy`); without it only descent runs.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

from mnist_idx import read_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def flops_per_sample(sizes):
    macs = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2 * (3 * sum(macs) - macs[0])


def samples_for(sizes, batch, seconds, guess_gflops=100.0):
    """Rows to train on for about `seconds` at `guess_gflops`: whole batches, at least 12."""
    rows = seconds * guess_gflops * 1e9 / flops_per_sample(sizes)
    return int(min(60000, max(12 * batch, batch * math.ceil(rows / batch))))


def descent_cell(binary, data_dir, sizes, batch, optimizer, lr, threads, rows):
    # The CLI holds out 5 % (at most 1000) for validation; MNIST has 60 000 rows.
    n = min(60000, rows + min(1000, rows // 19 + 1))
    out = subprocess.run(
        [binary, "train", "--data", f"mnist:{data_dir},n={n}", "--layers", ",".join(map(str, sizes)),
         "--activation", "relu", "--loss", "cross-entropy", "--optimizer", optimizer, "--lr", str(lr),
         "--batch-size", str(batch), "--epochs", "1", "--threads", str(threads), "--precision", "f32",
         "--seed", "0", "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["samples_per_second"]


def torch_mlp(torch, sizes):
    """PyTorch's MLP of these layer sizes: `Linear` layers with ReLU between them."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class Torch:
    def __init__(self, data_dir, threads):
        import numpy as np
        import torch
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch = torch
        x = read_mnist(data_dir, "train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255.0
        self.x = torch.from_numpy((x - 0.1307) / 0.3081)
        self.y = torch.from_numpy(read_mnist(data_dir, "train-labels-idx1-ubyte").astype(np.int64))

    def cell(self, sizes, batch, optimizer, lr, rows):
        torch = self.torch
        model = torch_mlp(torch, sizes)
        opt = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam"
               else torch.optim.SGD(model.parameters(), lr=lr))
        lossf = torch.nn.CrossEntropyLoss()
        perm = torch.randperm(self.x.shape[0])[:rows]

        def step(idx):
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(self.x[idx]), self.y[idx])
            loss.backward()
            opt.step()

        for i in range(0, 3 * batch, batch):  # warm-up: first-touch allocations, as descent's buffers
            step(perm[i:i + batch])
        t0 = time.perf_counter()
        for i in range(0, rows, batch):
            step(perm[i:i + batch])
        return rows / (time.perf_counter() - t0)


def fma_peak():
    out = subprocess.run(["cargo", "run", "--release", "-q", "-p", "descent", "--example",
                          "machine_bounds", "--", "--fma"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("f32 FMA peak"))
    return float(line.split()[-2]) * 1e9, line


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ints = lambda s: [int(v) for v in s.split(",")]
    ap.add_argument("--widths", type=ints, default=[128, 512, 1024, 2048])
    ap.add_argument("--depths", type=ints, default=[1, 3])
    ap.add_argument("--batches", type=ints, default=[32, 128, 512])
    ap.add_argument("--optimizers", default="sgd,adam")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0, help="training time per cell and tool, about")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
    ap.add_argument("--binary", help="a descent binary to measure (default: build this tree's)")
    a = ap.parse_args()
    data_dir = os.path.abspath(a.data)
    binary = a.binary
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "descent")
    peak, peak_line = fma_peak()
    try:
        torch = Torch(data_dir, a.threads)
    except ImportError:
        torch = None
    print(f"{peak_line}; {a.threads} threads; PyTorch {'not installed' if torch is None else torch.torch.__version__}")
    print(f"{'layers':>22} {'opt':>4} {'batch':>5} {'descent/s':>10} {'%peak':>5} {'torch/s':>9} {'%peak':>5} {'ratio':>6}")
    ratios = []
    for width in a.widths:
        for depth in a.depths:
            sizes = [784] + [width] * depth + [10]
            for batch in a.batches:
                for opt in a.optimizers.split(","):
                    lr = 1e-3 if opt == "adam" else 0.01
                    rows = samples_for(sizes, batch, a.seconds)
                    d = descent_cell(binary, data_dir, sizes, batch, opt, lr, a.threads, rows)
                    fl = flops_per_sample(sizes)
                    line = f"{'-'.join(map(str, sizes)):>22} {opt:>4} {batch:>5} {d:>10.0f} {100 * d * fl / peak:>5.1f}"
                    if torch is not None:
                        t = torch.cell(sizes, batch, opt, lr, rows)
                        ratios.append(d / t)
                        line += f" {t:>9.0f} {100 * t * fl / peak:>5.1f} {d / t:>5.2f}x"
                    print(line, flush=True)
    if ratios:
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"cells {len(ratios)}: ratio min {min(ratios):.2f}x, geometric mean {geo:.2f}x, max {max(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
