#!/usr/bin/env python3
"""`mpirun -np 2` against one process on MNIST, alternated pairs: the speed bar of
data-parallel training.

Runs `descent train` on MNIST 784-128-10 (Adam, batch 128, one thread per process,
3 epochs) in one process and under `mpirun -np 2`, one after the other, `--pairs` times
for each precision, and prints every pair's samples/s and ratio, the median ratio and the
ratio of the best runs, and the wall-clock ratio of whole runs (validation and test
included, which the ranks share too). Alternating the two sides spreads a shared machine's slow spells
over both.

    python3 bench/mpi_speedup.py [--pairs 5] [--precision f64 f32] [--binary PATH]

Needs OpenMPI (mpirun) and a build with `--features mpi`
(`cargo build --release -p descent-cli --features mpi`).
"""
import argparse
import json
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]


def samples_per_second(cmd):
    """The run's samples/s and its wall-clock seconds."""
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    report = json.loads([l for l in out.splitlines() if l.startswith("{")][0])
    return report["samples_per_second"], wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--precision", nargs="+", default=["f64", "f32"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "descent"))
    a = ap.parse_args()
    for precision in a.precision:
        args = [a.binary, "train", "--data", f"mnist:{MNIST}", "--layers", "784,128,10",
                "--optimizer", "adam", "--precision", precision, "--epochs", str(a.epochs),
                "--batch-size", "128", "--threads", "1", "--json", "--quiet"]
        ones, twos, walls = [], [], []
        print(f"## {precision}\n\n| pair | -np 1 (samples/s) | -np 2 (samples/s) | ratio "
              f"| wall -np 1 / -np 2 |\n|---|---|---|---|---|")
        for i in range(a.pairs):
            (one, wall_one), (two, wall_two) = (samples_per_second(args),
                                                samples_per_second(MPIRUN + ["-np", "2"] + args))
            ones.append(one)
            twos.append(two)
            walls.append(wall_one / wall_two)
            print(f"| {i + 1} | {one:.0f} | {two:.0f} | {two / one:.2f} | {walls[-1]:.2f} "
                  f"({wall_one:.1f} s / {wall_two:.1f} s) |", flush=True)
        ratios = [t / o for o, t in zip(ones, twos)]
        print(f"\nmedian ratio {statistics.median(ratios):.2f} (range {min(ratios):.2f}–{max(ratios):.2f}); "
              f"best -np 2 / best -np 1: {max(twos) / max(ones):.2f}; median wall-clock ratio "
              f"{statistics.median(walls):.2f}\n")


if __name__ == "__main__":
    main()
