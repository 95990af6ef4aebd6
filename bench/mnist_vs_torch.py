#!/usr/bin/env python3
"""MNIST training throughput: descent versus PyTorch (CPU), in the same run.

Both train 784-128-10 ReLU with Adam (lr 1e-3), batch 128, f32, on the same number of
threads, with the same input normalization (mean 0.1307, std 0.3081). Samples per second
count the training loop only (forward, backward, update), not data loading or evaluation.

    python3 bench/mnist_vs_torch.py [--epochs 5] [--threads 2] [--data ../shared/data/mnist]

Needs `torch` and `numpy` (pip install torch numpy); builds descent with cargo.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from mnist_idx import read_mnist


def torch_run(data_dir, epochs, threads, seed):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    xtr = read_mnist(data_dir, "train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255.0
    ytr = read_mnist(data_dir, "train-labels-idx1-ubyte").astype(np.int64)
    xte = read_mnist(data_dir, "t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255.0
    yte = read_mnist(data_dir, "t10k-labels-idx1-ubyte").astype(np.int64)
    xtr = torch.from_numpy((xtr - 0.1307) / 0.3081)
    xte = torch.from_numpy((xte - 0.1307) / 0.3081)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    n = xtr.shape[0]
    train_time, samples = 0.0, 0
    for _ in range(epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for i in range(0, n, 128):
            idx = perm[i:i + 128]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            samples += len(idx)
        train_time += time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    return samples / train_time, acc


def descent_run(data_dir, epochs, threads, seed):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=root, check=True)
    out = subprocess.run(
        [os.path.join(root, "target", "release", "descent"), "train", "--data", f"mnist:{data_dir}",
         "--layers", "784,128,10", "--activation", "relu", "--loss", "cross-entropy", "--optimizer", "adam",
         "--lr", "1e-3", "--batch-size", "128", "--epochs", str(epochs), "--threads", str(threads),
         "--seed", str(seed), "--json"],
        cwd=root, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return r["samples_per_second"], r["test_accuracy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "mnist"))
    a = ap.parse_args()
    d_sps, d_acc = descent_run(os.path.abspath(a.data), a.epochs, a.threads, a.seed)
    try:
        t_sps, t_acc = torch_run(os.path.abspath(a.data), a.epochs, a.threads, a.seed)
    except ImportError:
        print(f"descent: {d_sps:,.0f} samples/s, test accuracy {100 * d_acc:.2f}%  (torch not installed: no comparison)")
        return 0
    print(f"descent: {d_sps:,.0f} samples/s, test accuracy {100 * d_acc:.2f}%")
    print(f"pytorch: {t_sps:,.0f} samples/s, test accuracy {100 * t_acc:.2f}%")
    print(f"ratio descent/pytorch: {d_sps / t_sps:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
