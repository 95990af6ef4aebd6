#!/usr/bin/env python3
"""L-BFGS at ten million variables: descent against SciPy's L-BFGS-B, in one run.

Both minimize the extended Rosenbrock function (Moré, Garbow & Hillstrom 1981, problem 21)
from its standard start (−1.2, 1, −1.2, 1, …) for 20 iterations with memory m = 10.
SciPy evaluates it with numpy (value and gradient in vectorized array expressions);
descent runs `descent minimize --problem extended-rosenbrock:N --method lbfgs` (and
`lbfgsb`, no bound given, with `--methods lbfgs,lbfgsb`). Prints
seconds per iteration, the ratio, each side's evaluations, and descent's peak resident
memory against the issue's budget 1.2·(2m + 4)·n·8 bytes.

    python3 bench/lbfgs_large_vs_scipy.py [--n 10000000] [--iters 20] [--repeat 2]
        [--methods lbfgs,lbfgsb]

Needs numpy and scipy (pip install numpy scipy); builds descent with cargo.
"""
import argparse
import re
import os
import subprocess
import tempfile
import time

import numpy as np
from scipy.optimize import minimize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMORY = 10


def rosenbrock(x):
    """Value and gradient of Σ 100(x₂ᵢ − x₂ᵢ₋₁²)² + (1 − x₂ᵢ₋₁)², vectorized."""
    a, b = x[0::2], x[1::2]
    t = b - a * a
    u = 1.0 - a
    f = float(100.0 * np.dot(t, t) + np.dot(u, u))
    g = np.empty_like(x)
    g[0::2] = -400.0 * t * a - 2.0 * u
    g[1::2] = 200.0 * t
    return f, g


def scipy_run(n, iters):
    x0 = np.tile([-1.2, 1.0], n // 2)
    start = time.perf_counter()
    r = minimize(rosenbrock, x0, jac=True, method="L-BFGS-B",
                 options=dict(maxiter=iters, maxcor=MEMORY, ftol=0.0, gtol=0.0))
    seconds = time.perf_counter() - start
    return seconds, r.nit, r.nfev, r.fun


def descent_run(binary, method, n, iters):
    cmd = [binary, "minimize", "--problem", f"extended-rosenbrock:{n}", "--method", method,
           "--max-iter", str(iters), "--quiet"]
    # Peak resident memory (KiB) as the kernel records it for the process's own address
    # space (VmHWM, read while it runs). The rusage of a child would also count the pages
    # it shared with this Python process between fork and exec.
    with tempfile.TemporaryFile(mode="w+") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, text=True)
        peak_kib = 0
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak_kib = max(peak_kib, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.02)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with status {proc.returncode}")
        sink.seek(0)
        out = sink.read()
    # The text report (the JSON one would carry all n coordinates).
    field = lambda name: re.search(rf"^\s*{name}\s*=\s*(\S+)", out, re.M).group(1)
    f_evals = int(re.search(r"f: (\d+)", out).group(1))
    return float(field("time")), int(field("iterations")), f_evals, float(field(r"f\(x\)")), \
        peak_kib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--methods", default="lbfgs", help="descent methods, comma-separated")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=ROOT,
                   check=True)
    binary = os.path.join(ROOT, "target", "release", "descent")
    budget = 1.2 * (2 * MEMORY + 4) * a.n * 8
    print(f"extended Rosenbrock, n = {a.n}, {a.iters} iterations, m = {MEMORY}")
    for rep in range(a.repeat):
        s_sec, s_it, s_fev, s_f = scipy_run(a.n, a.iters)
        line = f"run {rep + 1}: SciPy L-BFGS-B {s_sec / s_it:.3f} s/iter ({s_it} iter, {s_fev} " \
            f"evals, f {s_f:.6e})"
        for method in a.methods.split(","):
            d_sec, d_it, d_fev, d_f, peak_kib = descent_run(binary, method, a.n, a.iters)
            s_per, d_per = s_sec / s_it, d_sec / d_it
            line += f" | descent {method} {d_per:.3f} s/iter ({d_it} iter, {d_fev} evals, " \
                f"f {d_f:.6e}), ratio {s_per / d_per:.2f}x, peak RSS " \
                f"{peak_kib / 2**20:.2f} GiB = {peak_kib * 1024 / budget:.2f} of the budget " \
                f"1.2(2m+4)n·8 B"
        print(line)

if __name__ == "__main__":
    main()
