#!/usr/bin/env python3
"""MGH benchmark, descent versus SciPy on exactly the same functions, in one run.

The 38 Moré–Garbow–Hillstrom instances of the usual benchmark are served by descent's
`mgh_serve` example (value and analytic gradient over a pipe), so SciPy's optimizers see
the same functions and derivatives. SciPy runs with tight tolerances (L-BFGS-B ftol 1e-15,
gtol 1e-10; BFGS and CG gtol 1e-10), descent with `descent minimize` defaults. A run
reaches f* when f − f* ≤ 1e-8·max(1, |f*|) for one of the problem's known minima.
Prints per-method counts reached, and medians of function evaluations on the instances
both reach, with their ratio.

    python3 bench/mgh_vs_scipy.py [--verbose] [--only=lbfgs,trust-exact,...]

Needs numpy and scipy (pip install numpy scipy); builds descent with cargo.
"""
import json
import os
import statistics
import subprocess
import sys

import numpy as np
from scipy.optimize import minimize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAIRS = [("lbfgs", "L-BFGS-B"), ("bfgs", "BFGS"), ("cg", "CG"),
         ("trust-exact", "trust-exact"), ("trust-ncg", "trust-ncg"), ("trust-dogleg", "dogleg")]
TIGHT = {
    "L-BFGS-B": dict(ftol=1e-15, gtol=1e-10, maxiter=10000, maxfun=100000),
    "BFGS": dict(gtol=1e-10, maxiter=10000),
    "CG": dict(gtol=1e-10, maxiter=20000),
    "trust-exact": dict(gtol=1e-10, maxiter=10000),
    "trust-ncg": dict(gtol=1e-10, maxiter=10000),
    "dogleg": dict(gtol=1e-10, maxiter=10000),
}
# SciPy's trust-region methods take the exact Hessian (served as well).
NEEDS_HESSIAN = {"trust-exact", "trust-ncg", "dogleg"}


class Served:
    def __init__(self, exe, name):
        self.p = subprocess.Popen([exe, name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.x0 = np.array([float(t) for t in self.p.stdout.readline().split()])
        self.minima = [float(t) for t in self.p.stdout.readline().split()]
        self.nfev = 0

    def fg(self, x):
        self.nfev += 1
        self.p.stdin.write(" ".join(repr(float(v)) for v in x) + "\n")
        self.p.stdin.flush()
        vals = [float(t) for t in self.p.stdout.readline().split()]
        return vals[0], np.array(vals[1:])

    def hess(self, x):
        self.p.stdin.write("h " + " ".join(repr(float(v)) for v in x) + "\n")
        self.p.stdin.flush()
        vals = np.array([float(t) for t in self.p.stdout.readline().split()])
        n = len(x)
        return vals.reshape(n, n)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def reached(f, minima):
    return any(f - m <= 1e-8 * max(1.0, abs(m)) for m in minima)


def main():
    verbose = "--verbose" in sys.argv
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent", "--example", "mgh_serve"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=ROOT, check=True)
    serve = os.path.join(ROOT, "target", "release", "examples", "mgh_serve")
    cli = os.path.join(ROOT, "target", "release", "descent")
    names = subprocess.run([serve, "--list"], capture_output=True, text=True, check=True).stdout.split()
    results = {(side, m): {} for ours, theirs in PAIRS for side, m in (("descent", ours), ("scipy", theirs))}
    only = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")), None)
    pairs = [p for p in PAIRS if only is None or p[0] in only.split(",")]
    for name in names:
        for ours, theirs in pairs:
            out = subprocess.run([cli, "minimize", "--problem", name, "--method", ours, "--json"],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out)
            s = Served(serve, name)
            results[("descent", ours)][name] = (reached(r["f"], s.minima), r["f_evals"])
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    extra = {"hess": s.hess} if theirs in NEEDS_HESSIAN else {}
                    sp = minimize(s.fg, s.x0, jac=True, method=theirs, options=TIGHT[theirs], **extra)
                    f = float(sp.fun)
                except (ValueError, OverflowError, FloatingPointError):
                    f = float("inf")
            results[("scipy", theirs)][name] = (reached(f, s.minima), s.nfev)
            s.close()
            if verbose:
                print(f"{name:26} {ours:6} {results[('descent', ours)][name]}  {theirs:9} {results[('scipy', theirs)][name]}")
    for ours, theirs in pairs:
        a, b = results[("descent", ours)], results[("scipy", theirs)]
        both = [n for n in names if a[n][0] and b[n][0]]
        ma = statistics.median(a[n][1] for n in both) if both else float("nan")
        mb = statistics.median(b[n][1] for n in both) if both else float("nan")
        print(f"descent {ours:6} reached {sum(v[0] for v in a.values()):2}/38 | SciPy {theirs:8} (tight) "
              f"reached {sum(v[0] for v in b.values()):2}/38 | on the {len(both)} both reach, median f evals "
              f"{ma:g} vs {mb:g} = {ma / mb:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
