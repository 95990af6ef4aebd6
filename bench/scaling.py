#!/usr/bin/env python3
"""Data-parallel scaling: measured on loopback at K = 1, 2, projected to K = 1024.

1. Measures `Communicator::sum` and a bare MPI send on loopback
   (`crates/descent/examples/allreduce.rs` under `mpirun -np 2`) and fits the α–β model
   of one message, t = α + β·bytes.
2. Measures MNIST training (784-128-10, Adam, f64, one thread per process) in one process
   at batch 128 and 64, and under `mpirun -np 2` at batch 128: the speedup, and the split of
   one step into a part proportional to the rows (the products) and a part that every
   worker repeats (the step rule and the driver's vector passes).
3. Projects the time per step and the parallel efficiency for K up to 1024 workers, each
   with 128 rows of every global batch (weak scaling, as data-parallel training is run),
   for MNIST's network and for one of 10⁷ parameters, with three allreduce algorithms:

   - tree: binomial reduce to rank 0, then binomial broadcast (descent's sum when K is
     not a power of two): 2·⌈log₂K⌉·(α + nβ) + ⌈log₂K⌉·n·γ;
   - halving/doubling: recursive halving, then recursive doubling (descent's sum when K is
     a power of two; Rabenseifner 2004): 2·log₂K·α + 2·(K−1)/K·nβ + (K−1)/K·n·γ;
   - ring (as NCCL and Horovod): 2·(K−1)·α + 2·(K−1)/K·nβ + (K−1)/K·n·γ;

   with n the bytes of the gradient and γ the time to add one value. Halving/doubling and
   ring are a reduce-scatter then an all-gather, so the workers share the step between
   them (descent does, ZeRO stage 1): the part of a step every worker repeats is divided
   by K there; the tree sums whole buffers, and every worker takes the whole step.

   Each worker holds its own block of the rows, so the rows of a global batch fall on
   the workers in multinomial numbers, not equal ones: the largest is on average
   r + √r·e_K for r rows a worker (the deviations of K equal shares of a multinomial are
   those of K independent normals of variance r less their mean; e_K = E[max of K
   standard normals], 0.56 at K = 2, 3.2 at K = 1024). descent evens them out: the
   workers over their share lend their surplus rows to those under it, so every worker
   evaluates r rows, and the step pays for the loans instead: the worker that borrows
   most receives about √r·e_K rows (MNIST's rows, 785 values, for both networks), in a
   message or two, 2α + √r·e_K·row·β. The projection charges that, and prints the
   efficiency without the loans (the products wait for the largest share) too. Writes a
   Markdown table and `docs/scaling.svg`.

    python3 bench/scaling.py [--repeat 2]

Needs OpenMPI (mpirun) and builds descent with `--features mpi`.
"""
import argparse
import json
import math
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]
MNIST_PARAMS = 784 * 128 + 128 + 128 * 10 + 10
# A lent row's record: MNIST's 784 inputs and its label, in f64.
ROW_BYTES = 8 * (784 + 1)


def sh(cmd):
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def fit_line(xs, ys):
    """Least squares y = a + b·x."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def train(k, batch, repeat):
    args = [os.path.join(ROOT, "target/release/descent"), "train", "--data", f"mnist:{MNIST}",
            "--layers", "784,128,10", "--optimizer", "adam", "--precision", "f64",
            "--epochs", "1", "--batch-size", str(batch), "--threads", "1", "--json", "--quiet"]
    cmd = args if k == 1 else MPIRUN + ["-np", str(k)] + args
    best = 0.0
    for _ in range(repeat):
        out = [l for l in sh(cmd).splitlines() if l.startswith("{")]
        best = max(best, json.loads(out[0])["samples_per_second"])
    return best


def expected_max_normal(k):
    """E[max of k independent standard normals]: ∫ x·k·φ(x)·Φ(x)^(k−1) dx."""
    if k == 1:
        return 0.0
    step, total, x = 1e-3, 0.0, -10.0
    while x < 10.0:
        phi = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + math.erf(x / math.sqrt(2)))
        total += x * k * phi * cdf ** (k - 1) * step
        x += step
    return total


def imbalance(k, rows):
    """The largest of K multinomial shares of r rows each on average, over r."""
    return 1 + expected_max_normal(k) / math.sqrt(rows)


def lending(k, rows, alpha, beta):
    """The loans that even out K shares of r rows each on average: the worker that
    borrows most receives about √r·e_K rows, in a message or two."""
    if k == 1:
        return 0.0
    return 2 * alpha + math.sqrt(rows) * expected_max_normal(k) * ROW_BYTES * beta


def allreduce_model(kind, k, values, alpha, beta, gamma):
    n = 8 * values
    if k == 1:
        return 0.0
    if kind == "tree":
        rounds = math.ceil(math.log2(k))
        return 2 * rounds * (alpha + n * beta) + rounds * values * gamma
    part = (k - 1) / k
    latency = 2 * math.log2(k) * alpha if kind == "halving/doubling" else 2 * (k - 1) * alpha
    return latency + 2 * part * n * beta + part * values * gamma


def svg(curves, path):
    """Efficiency against K (log₂ axis), one polyline per curve."""
    w, h, left, bottom, top, right = 640, 400, 60, 50, 20, 200
    ks = [2 ** i for i in range(11)]
    x = lambda k: left + (w - left - right) * math.log2(k) / 10
    y = lambda e: top + (h - top - bottom) * (1 - e)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    for e in [0, 0.25, 0.5, 0.75, 1.0]:
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(e):.1f}" y2="{y(e):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(e) + 4:.1f}" text-anchor="end">{e:.2f}</text>')
    for k in ks:
        out.append(f'<text x="{x(k):.1f}" y="{h - bottom + 16}" text-anchor="middle">{k}</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">workers K (128 rows each)</text>')
    out.append(f'<text x="14" y="{(top + h - bottom) / 2}" transform="rotate(-90 14 {(top + h - bottom) / 2})" text-anchor="middle">parallel efficiency</text>')
    for i, (label, effs) in enumerate(curves):
        pts = " ".join(f"{x(k):.1f},{y(e):.1f}" for k, e in zip(ks, effs))
        c = colors[i % len(colors)]
        dash = ' stroke-dasharray="5,3"' if "10⁷" in label else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{w - right + 10}" y="{top + 16 * (i + 1)}" fill="{c}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    sh(["cargo", "build", "--release", "-p", "descent-cli", "--features", "mpi"])
    sh(["cargo", "build", "--release", "-p", "descent", "--features", "mpi", "--example", "allreduce"])

    rows = [json.loads(l) for l in sh(MPIRUN + ["-np", "2", "target/release/examples/allreduce"]).splitlines()]
    big = [r for r in rows if r["bytes"] >= 32768]
    alpha, _ = fit_line([r["bytes"] for r in rows[:3]], [r["send_seconds"] for r in rows[:3]])
    _, beta = fit_line([r["bytes"] for r in big], [r["send_seconds"] for r in big])
    # γ: what a K = 2 sum takes beyond its two exchanges of half the buffer.
    last = rows[-1]
    exchanges = 2 * (alpha + beta * last["bytes"] / 2)
    gamma = max(0.0, (last["sum_seconds"] - exchanges) / (last["values"] / 2))
    print("## Allreduce on loopback (K = 2)\n")
    print("| values | bytes | one send (µs) | `Communicator::sum` (µs) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['values']} | {r['bytes']} | {1e6 * r['send_seconds']:.1f} | {1e6 * r['sum_seconds']:.1f} |")
    print(f"\nFit: α = {1e6 * alpha:.2f} µs, β = {1e9 * beta:.3f} ns/byte ({1e-9 / beta:.1f} GB/s), "
          f"γ = {1e9 * gamma:.2f} ns per value added\n")

    s128 = train(1, 128, a.repeat)
    s64 = train(1, 64, a.repeat)
    s2 = train(2, 128, a.repeat)
    t128, t64 = 128 / s128, 64 / s64
    per_row = (t128 - t64) / 64
    fixed = t128 - 128 * per_row
    # At K = 2 the workers share the step: each repeats half of the fixed part; each
    # evaluates 64 rows, after the loans that even out the shares.
    measured_allreduce = 128 / s2 - (64 * per_row + lending(2, 64, alpha, beta) + fixed / 2)
    print("## MNIST 784-128-10, Adam, f64, batch 128, one thread per process\n")
    print(f"- one process: {s128:.0f} samples/s ({1e3 * t128:.2f} ms a step); at batch 64: {s64:.0f}")
    print(f"- mpirun -np 2: {s2:.0f} samples/s ({1e3 * 128 / s2:.2f} ms a step): **{s2 / s128:.2f}×**")
    print(f"- a step: {1e6 * per_row:.2f} µs per row (the products) + {1e3 * fixed:.2f} ms of step rule and "
          f"driver (shared by the workers); the loans that even out the shares of a batch of 128 "
          f"(the larger is {imbalance(2, 64):.3f} of half) take {1e6 * lending(2, 64, alpha, beta):.1f} µs; "
          f"the K = 2 step left {1e3 * measured_allreduce:.2f} ms for the allreduce "
          f"(model: {1e3 * allreduce_model('halving/doubling', 2, MNIST_PARAMS + 1, alpha, beta, gamma):.2f} ms)\n")

    nets = [("MNIST", MNIST_PARAMS), ("10⁷", 10_000_000)]
    kinds = ["tree", "halving/doubling", "ring"]
    ks = [2 ** i for i in range(11)]
    curves = []
    table = {}
    uneven = {}
    for name, params in nets:
        scale = params / MNIST_PARAMS  # products and step-rule passes grow with the parameters
        for kind in kinds:
            shared = kind != "tree"
            rest = [fixed * scale / (k if shared else 1)
                    + allreduce_model(kind, k, params + 1, alpha, beta, gamma) for k in ks]
            times = [128 * per_row * scale + lending(k, 128, alpha, beta) + r for k, r in zip(ks, rest)]
            effs = [times[0] / t for t in times]
            table[(name, kind)] = (times, effs)
            uneven[(name, kind)] = [times[0] / (128 * per_row * scale * imbalance(k, 128) + r)
                                    for k, r in zip(ks, rest)]
            curves.append((f"{name}, {kind}", effs))
    print("Without the loans, the largest share over the mean (128 rows a worker): "
          + ", ".join(f"K = {k}: {imbalance(k, 128):.3f}" for k in ks) + "\n")
    print("## Projected: time per step (ms) and efficiency, 128 rows per worker\n")
    head = "| K | " + " | ".join(f"{n} {k}" for n, _ in nets for k in kinds) + " |"
    print(head)
    print("|---" * (1 + len(nets) * len(kinds)) + "|")
    for i, k in enumerate(ks):
        cells = [f"{1e3 * table[(n, kd)][0][i]:.2f} ({table[(n, kd)][1][i]:.2f})" for n, _ in nets for kd in kinds]
        print(f"| {k} | " + " | ".join(cells) + " |")
    print("\nEfficiency without the loans (the products wait for the largest share):\n")
    print(head)
    print("|---" * (1 + len(nets) * len(kinds)) + "|")
    for i, k in enumerate(ks):
        print(f"| {k} | " + " | ".join(f"{uneven[(n, kd)][i]:.2f}" for n, _ in nets for kd in kinds) + " |")
    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    svg(curves, os.path.join(ROOT, "docs", "scaling.svg"))
    print("\nwrote docs/scaling.svg")


if __name__ == "__main__":
    main()
