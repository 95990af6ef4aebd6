#!/usr/bin/env python3
"""Adam's extra time per training step over SGD, as a paired measurement.

Trains the same network (784-2048-2048-10 by default: 5.8 M parameters, f32, batch 128,
MNIST rows, 2 threads) with SGD and with Adam in alternating runs, and takes the median
of the per-round differences of the time per step (from the `samples_per_second` each run
reports for its training alone). On a shared machine whose speed drifts by ±25 % between
runs, the pairing cancels the drift that separate means would carry into the difference.

The bound it is compared with (issue 14's): 1.5 × the time to stream 28 bytes per
parameter at the machine's measured copy bandwidth (the `machine_bounds` example). Adam's
own extra traffic over SGD is its two moments read and written: 16 bytes a parameter in
f32 (descent's for f32 networks, as PyTorch's), 32 in f64.

    python3 bench/adam_over_sgd.py [--rounds 8] [--rows 15360] [--epochs 1] [--binary PATH]

Prints each round and the median; `--torch` also measures PyTorch's extra time the same
way when torch is installed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")
BIN = os.path.join(ROOT, "target", "release", "descent")


def params_of(layers):
    return sum(a * b + b for a, b in zip(layers, layers[1:]))


def descent_step_seconds(optimizer, args):
    cmd = [args.binary, "train", "--data", f"mnist:{MNIST},n={args.rows}", "--layers", args.layers,
           "--optimizer", optimizer, "--epochs", str(args.epochs), "--batch-size",
           str(args.batch), "--threads", "2", "--precision", "f32", "--val-frac", "0",
           "--json", "--quiet"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("{"))
    return args.batch / json.loads(line)["samples_per_second"]


def torch_step_seconds(optimizer, args, peer=[]):
    # perf_grid.py's PyTorch side (its MLP, its warm-up), loaded once.
    if not peer:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from perf_grid import Torch
        peer.append(Torch(MNIST, 2))
    sizes = [int(s) for s in args.layers.split(",")]
    lr = 1e-3 if optimizer == "adam" else 1e-2
    # perf_grid's cell draws its rows from one permutation of the 60 000.
    rows = min(args.epochs * args.rows, 60000)
    return args.batch / peer[0].cell(sizes, args.batch, optimizer, lr, rows)


def copy_bandwidth():
    out = subprocess.run(["cargo", "run", "--release", "-q", "-p", "descent", "--example",
                          "machine_bounds"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("copy"))
    return float(line.split()[1]) * 1e9


def paired(measure, args, who):
    diffs = []
    for r in range(args.rounds):
        # Alternate which goes first, so that a drift within a round cancels too.
        order = ["sgd", "adam"] if r % 2 == 0 else ["adam", "sgd"]
        t = {o: measure(o, args) for o in order}
        diffs.append(t["adam"] - t["sgd"])
        print(f"{who} round {r + 1}: SGD {1e3 * t['sgd']:.1f} ms/step, Adam "
              f"{1e3 * t['adam']:.1f} ms/step, extra {1e3 * diffs[-1]:+.1f} ms", flush=True)
    return statistics.median(diffs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=8)
    # One epoch of 120 steps: what a run does once, at its end (the rule's state copied
    # into its checkpoint), weighs on a step a quarter of what it does over 30.
    ap.add_argument("--rows", type=int, default=15360)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--layers", default="784,2048,2048,10")
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--binary", help="a descent binary to measure (another build, to "
                    "compare); default: this tree's, built first")
    args = ap.parse_args()
    if args.binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=ROOT,
                       check=True)
        args.binary = BIN
    n = params_of([int(s) for s in args.layers.split(",")])
    bandwidth = copy_bandwidth()
    bound = 1.5 * 28 * n / bandwidth
    print(f"{args.layers}: {n} parameters; copy bandwidth {bandwidth / 1e9:.1f} GB/s; "
          f"bound 1.5 x 28 B/parameter = {1e3 * bound:.1f} ms")
    extra = paired(descent_step_seconds, args, "descent")
    print(f"descent: Adam's extra time per step, median of {args.rounds} rounds: "
          f"{1e3 * extra:.1f} ms ({extra / bound:.2f} of the bound)")
    if args.torch:
        t_extra = paired(torch_step_seconds, args, "torch")
        print(f"PyTorch: Adam's extra time per step, median of {args.rounds} rounds: "
              f"{1e3 * t_extra:.1f} ms")


if __name__ == "__main__":
    main()
