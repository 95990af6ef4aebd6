#!/usr/bin/env python3
"""Bound-constrained benchmark: descent's L-BFGS-B (`--method lbfgsb`) versus SciPy's
L-BFGS-B, on exactly the same functions, boxes and starting points, in one run.

Each problem is written twice: as a `descent minimize --expr` string in x1..xn (what
descent minimizes, with its exact forward-mode gradient), and as numpy value+gradient code
(what SciPy minimizes). Before any run the script checks the two against each other (the
expression, evaluated by a small Python evaluator of descent's grammar, equals the numpy
value at the start and at a random point in the box; the numpy gradient agrees with
central differences; f(x*) = f* where x* is known), so both optimizers see one function.

The 39 problems: the box-constrained Hock–Schittkowski problems (HS1 2 3 4 5 25 38 45
110); Moré–Garbow–Hillstrom least-squares functions in the boxes of Gay (1984) that cut
off their unconstrained minima (13); five scalable families at n = 10, 100, 1000 — the
extended Rosenbrock in Gay's box, a constructed convex tridiagonal QP with a known
solution and two thirds of its bounds active, CUTEst's BDEXP and CVXBQP1, and MGH's
Penalty I in Gay's box —; and two objectives that are NaN outside their box (log, sqrt).
HS25 and HS110 are NaN outside theirs too. Starting points outside the box (HS2, HS45,
Box 3-D, Brown almost-linear, Chebyquad, Penalty I at n >= 100) are projected
onto it here, so both optimizers start from the same feasible point.

SciPy runs with tight settings (ftol 1e-15, gtol 1e-10, maxiter = maxfun = 15000),
descent with `descent minimize` defaults. A run *reaches* f* when f(x) − f* ≤
1e-8·max(1, |f*|), with f recomputed here by numpy at the returned x, and x inside the
box. Evaluations: SciPy's nfev (each a value and a gradient), descent's f_evals (also a
value and a gradient per count). Prints a table and the medians on the problems both
reach, with their ratio.

    python3 bench/bounds_vs_scipy.py [--only scipy|descent] [--json out.json] [--exe PATH]
                                     [--build] [--problems NAME,...] [--max-n N] [--list]
                                     [--verify-fstar [--starts K]]

`--only scipy` needs no descent binary; `--verify-fstar` re-derives every f* by multistart
SciPy (about 8 minutes for all 39 at the default 200 starts). descent's gradient of an
`--expr` costs n passes over the expression, so the n = 1000 problems dominate descent's
time; `--max-n 100` leaves them out. Needs numpy and scipy (pip install numpy scipy).
descent's binary defaults to target/release/descent (`--build` builds it with cargo).
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Sequence

try:
    import numpy as np
    from scipy.optimize import Bounds, brentq, minimize
except ImportError as err:  # pragma: no cover - the message is the point
    sys.exit(f"bounds_vs_scipy.py needs numpy and scipy ({err}).\n"
             f"Install them with:  python3 -m pip install numpy scipy\n"
             f"(or in a venv: python3 -m venv .venv && .venv/bin/pip install numpy scipy)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_EXE = os.path.join(ROOT, "target", "release", "descent")
SCIPY_OPTIONS = dict(ftol=1e-15, gtol=1e-10, maxiter=15000, maxfun=15000)
INF = math.inf
MAX_ARG = 120_000  # Linux refuses a single argument longer than 128 KiB


# ---------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------

@dataclass
class Problem:
    name: str
    expr: str
    x0: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    fg: Callable  # x -> (f, g), numpy, exact gradient
    fstar: float  # the global minimum in the box
    source: str
    xstar: Optional[np.ndarray] = None  # a minimizer, where known precisely
    local_minima: Sequence[float] = ()  # other documented local minima (f values)
    nan_outside: bool = False  # the objective is NaN somewhere outside the box

    @property
    def n(self):
        return len(self.x0)


def V(i):
    """Variable name, 0-based index."""
    return f"x{i + 1}"


def num(v):
    """A number as descent's tokenizer reads it; negatives in parentheses."""
    v = float(v)
    s = repr(v)
    if s.endswith(".0"):
        s = s[:-2]
    return f"({s})" if v < 0 else s


def box(pairs):
    lo = np.array([p[0] for p in pairs], dtype=float)
    hi = np.array([p[1] for p in pairs], dtype=float)
    return lo, hi


def project(x, lo, hi):
    return np.minimum(np.maximum(np.asarray(x, dtype=float), lo), hi)


def least_squares(resid_jac):
    """fg from a function returning residuals r (m) and Jacobian J (m x n): f = Σ rᵢ²."""
    def fg(x):
        r, J = resid_jac(np.asarray(x, dtype=float))
        return float(r @ r), 2.0 * (J.T @ r)
    return fg


def sum_of_squares_expr(residuals):
    return " + ".join(f"({r})^2" for r in residuals)


# --- Hock & Schittkowski (1981), the problems with bounds only. Formulation, bounds,
# starts and f* as in W. Hock, K. Schittkowski, "Test Examples for Nonlinear Programming
# Codes", LNEMS 187, Springer 1981 (cross-checked with the CUTEst SIF versions as
# transcribed in JuliaSmoothOptimizers/OptimizationProblems.jl and sif2jax). f* below is
# recomputed to full precision where the book prints 8–10 digits (see each comment).

def rosen2(x):
    f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    g = np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])
    return float(f), g


ROSEN_EXPR = "100*(x2 - x1^2)^2 + (1 - x1)^2"


def hs_problems():
    P = []
    lo, hi = box([(-INF, INF), (-1.5, INF)])
    P.append(Problem("HS1", ROSEN_EXPR, np.array([-2.0, 1.0]), lo, hi, rosen2, 0.0,
                     "HS #1 (Rosenbrock, x2 >= -1.5)", xstar=np.array([1.0, 1.0])))

    # HS2: the bound x2 >= 1.5 is active; x1 solves 400 x1^3 - 598 x1 - 2 = 0 (d/dx1 of
    # 100(1.5 - x1^2)^2 + (1 - x1)^2). Roots 1.22437075 (global, f* = 0.0504261879 in the
    # book) and -1.22103 (a local minimum, f = 4.94122932, which L-BFGS methods find from
    # the standard start). Both values here from the cubic's roots in double precision.
    # The standard start (-2, 1) is infeasible (x2 < 1.5): projected to (-2, 1.5).
    r = np.sort(np.roots([400.0, 0.0, -598.0, -2.0]).real)
    x_glob, x_loc = np.array([r[2], 1.5]), np.array([r[0], 1.5])
    lo, hi = box([(-INF, INF), (1.5, INF)])
    P.append(Problem("HS2", ROSEN_EXPR, project([-2.0, 1.0], lo, hi), lo, hi, rosen2,
                     rosen2(x_glob)[0], "HS #2 (Rosenbrock, x2 >= 1.5)", xstar=x_glob,
                     local_minima=(rosen2(x_loc)[0],)))

    def hs3(x):
        return (float(x[1] + 1e-5 * (x[1] - x[0]) ** 2),
                np.array([-2e-5 * (x[1] - x[0]), 1 + 2e-5 * (x[1] - x[0])]))
    lo, hi = box([(-INF, INF), (0.0, INF)])
    P.append(Problem("HS3", "x2 + 1e-5*(x2 - x1)^2", np.array([10.0, 1.0]), lo, hi, hs3, 0.0,
                     "HS #3", xstar=np.array([0.0, 0.0])))

    def hs4(x):
        return float((x[0] + 1) ** 3 / 3 + x[1]), np.array([(x[0] + 1) ** 2, 1.0])
    lo, hi = box([(1.0, INF), (0.0, INF)])
    P.append(Problem("HS4", "(x1 + 1)^3/3 + x2", np.array([1.125, 0.125]), lo, hi, hs4, 8 / 3,
                     "HS #4", xstar=np.array([1.0, 0.0])))

    # HS5 (McCormick): f* = -sqrt(3)/2 - pi/3 at (-pi/3 + 1/2, -pi/3 - 1/2). (Some
    # transcriptions print "-2 sqrt(3) - pi/2"; that is not f at any point of the box.)
    def hs5(x):
        c = math.cos(x[0] + x[1])
        d = 2 * (x[0] - x[1])
        return (float(math.sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1] + 1),
                np.array([c + d - 1.5, c - d + 2.5]))
    lo, hi = box([(-1.5, 4.0), (-3.0, 3.0)])
    P.append(Problem("HS5", "sin(x1 + x2) + (x1 - x2)^2 - 1.5*x1 + 2.5*x2 + 1",
                     np.array([0.0, 0.0]), lo, hi, hs5, -math.sqrt(3) / 2 - math.pi / 3,
                     "HS #5 (McCormick)",
                     xstar=np.array([-math.pi / 3 + 0.5, -math.pi / 3 - 0.5])))

    # HS25 (Gulf research and development in a box): f* = 0 at (50, 25, 1.5), where every
    # residual vanishes. NaN outside the box: for x2 > u_99 = 25.63 the base of
    # (u_i - x2)^x3 is negative. From the standard start SciPy stops after one iteration
    # ("relative reduction of f"): every exp(-(u_i - 12.5)^3/100) there is below 1e-8, so f
    # is flat (32.835 = Σ(0.01 i)², gradient 2e-8). From random starts SciPy does reach
    # 8e-31 (--verify-fstar), so f* = 0 stands.
    i = np.arange(1, 100, dtype=float)
    t = 0.01 * i
    u = 25 + (-50 * np.log(t)) ** (2 / 3)

    def hs25(x):
        d = u - x[1]
        p = d ** x[2]
        e = np.exp(-p / x[0])
        r = e - t
        J = np.column_stack([e * p / x[0] ** 2, e * x[2] * d ** (x[2] - 1) / x[0],
                             -e * p * np.log(d) / x[0]])
        return float(r @ r), 2 * J.T @ r
    expr = " + ".join(f"(exp(-({num(ui)} - x2)^x3/x1) - {num(ti)})^2" for ui, ti in zip(u, t))
    lo, hi = box([(0.1, 100.0), (0.0, 25.6), (0.0, 5.0)])
    P.append(Problem("HS25", expr, np.array([100.0, 12.5, 3.0]), lo, hi, hs25, 0.0,
                     "HS #25 (Gulf R&D)", xstar=np.array([50.0, 25.0, 1.5]), nan_outside=True))

    # HS38 (Colville / Wood in [-10, 10]^4): f* = 0 at (1, 1, 1, 1).
    def hs38(x):
        a, b, c, d = x
        f = (100 * (b - a * a) ** 2 + (1 - a) ** 2 + 90 * (d - c * c) ** 2 + (1 - c) ** 2
             + 10.1 * ((b - 1) ** 2 + (d - 1) ** 2) + 19.8 * (b - 1) * (d - 1))
        g = np.array([-400 * a * (b - a * a) - 2 * (1 - a),
                      200 * (b - a * a) + 20.2 * (b - 1) + 19.8 * (d - 1),
                      -360 * c * (d - c * c) - 2 * (1 - c),
                      180 * (d - c * c) + 20.2 * (d - 1) + 19.8 * (b - 1)])
        return float(f), g
    expr = ("100*(x2 - x1^2)^2 + (1 - x1)^2 + 90*(x4 - x3^2)^2 + (1 - x3)^2"
            " + 10.1*((x2 - 1)^2 + (x4 - 1)^2) + 19.8*(x2 - 1)*(x4 - 1)")
    lo, hi = box([(-10.0, 10.0)] * 4)
    P.append(Problem("HS38", expr, np.array([-3.0, -1.0, -3.0, -1.0]), lo, hi, hs38, 0.0,
                     "HS #38 (Colville)", xstar=np.ones(4)))

    # HS45: f* = 1 at (1, 2, 3, 4, 5) (every upper bound active). The standard start
    # (2, 2, 2, 2, 2) has x1 > 1: projected to (1, 2, 2, 2, 2).
    def hs45(x):
        p = float(np.prod(x))
        g = np.array([-np.prod(np.delete(x, j)) / 120 for j in range(5)])
        return 2 - p / 120, g
    lo, hi = box([(0.0, float(k)) for k in range(1, 6)])
    P.append(Problem("HS45", "2 - x1*x2*x3*x4*x5/120", project([2.0] * 5, lo, hi), lo, hi,
                     hs45, 1.0, "HS #45", xstar=np.arange(1.0, 6.0)))

    # HS110: all xi equal at the minimum, so f* = min_t 10(ln(t-2)^2 + ln(10-t)^2) - t^2
    # (the product^0.2 of ten equal t's is t^2), solved in hs110_solution below:
    # t* = 9.3502658, f* = -45.778469707446 (the book prints 9.35025655, -45.77846971; f is
    # flat enough that its t* is off in the 6th digit while f* agrees to all 10). A
    # 200-start SciPy search finds nothing lower. NaN outside the box (log of a negative
    # number below 2 or above 10).
    def hs110(x):
        a, b = np.log(x - 2), np.log(10 - x)
        p = float(np.prod(x))
        f = float(np.sum(a * a + b * b) - p ** 0.2)
        g = 2 * a / (x - 2) - 2 * b / (10 - x) - 0.2 * p ** 0.2 / x
        return f, g
    expr = (" + ".join(f"log({V(j)} - 2)^2 + log(10 - {V(j)})^2" for j in range(10))
            + " - (" + "*".join(V(j) for j in range(10)) + ")^0.2")
    lo, hi = box([(2.001, 9.999)] * 10)
    P.append(Problem("HS110", expr, np.full(10, 9.0), lo, hi, hs110, HS110_FSTAR,
                     "HS #110", xstar=np.full(10, HS110_TSTAR), nan_outside=True))
    return P


def hs110_solution():
    """t* and f* of HS110: the root of
    h'(t) = 20 ln(t−2)/(t−2) − 20 ln(10−t)/(10−t) − 2t in the box, where
    h(t) = 10(ln(t−2)² + ln(10−t)²) − t² is the objective at x = (t, …, t)."""
    def dh(t):
        return 20 * math.log(t - 2) / (t - 2) - 20 * math.log(10 - t) / (10 - t) - 2 * t
    t = brentq(dh, 8.0, 9.99, xtol=1e-15, rtol=1e-15, maxiter=200)
    return t, 10 * (math.log(t - 2) ** 2 + math.log(10 - t) ** 2) - t * t


HS110_TSTAR, HS110_FSTAR = hs110_solution()


# --- Moré, Garbow & Hillstrom (ACM TOMS 7, 1981) least-squares functions, f = Σ rᵢ², in
# the boxes of D. M. Gay, "A trust-region approach to linearly constrained optimization",
# LNM 1066, Springer 1984 — the boxes as transcribed identically in TOMLAB's mgh_prob.m
# and PyOPUS's mgh.py; every box cuts off the unconstrained minimizer. f* is the box's
# minimum as computed for this benchmark (--verify-fstar): SciPy L-BFGS-B at ftol 1e-15,
# gtol 1e-12 from the standard start and from 1000 random starts in the box (200 for
# Freudenstein & Roth, Powell singular, Brown & Dennis and Brown almost-linear; the best
# of all), then Newton's
# method on the free variables with the active bounds fixed (projected gradient at most
# 1e-8 relative to the gradient's scale). Each comment gives TOMLAB's value (TOMLAB
# reports ½Σrᵢ², doubled here); every f* agrees with it to all the digits TOMLAB prints
# (within 1e-14 relative where it prints 16).

BARD_Y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10,
          4.39]
MEYER_Y = [34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0, 8261.0,
           7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0]
KOWALIK_Y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235,
             0.0246]
KOWALIK_U = [4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]
OSBORNE1_Y = [0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
              0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
              0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406]
OSBORNE2_Y = [1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
              0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
              0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
              0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
              0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
              0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054]


def mgh_problems():
    P = []

    def add(name, residual_exprs, resid_jac, x0, pairs, fstar, src, xstar=None, **kw):
        lo, hi = box(pairs)
        P.append(Problem(name, sum_of_squares_expr(residual_exprs), project(x0, lo, hi), lo,
                         hi, least_squares(resid_jac), fstar, src,
                         xstar=None if xstar is None else np.array(xstar, dtype=float), **kw))

    # 1 Rosenbrock, x1 <= 0.5: f* = 1/4 at (0.5, 0.25) exactly (f >= (1 - x1)^2 >= 1/4).
    add("MGH01-rosenbrock",
        ["10*(x2 - x1^2)", "1 - x1"],
        lambda x: (np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]]),
                   np.array([[-20 * x[0], 10.0], [-1.0, 0.0]])),
        [-1.2, 1.0], [(-50.0, 0.5), (0.0, 100.0)], 0.25, "MGH #1, Gay's box",
        xstar=[0.5, 0.25])

    # 2 Freudenstein & Roth, x2 <= -0.9 (cuts off (5, 4) and the local (11.41, -0.8968)).
    # TOMLAB: 2 x 24.492601 = 48.985202 at (11.37, -0.9).
    def fr(x):
        a, b = x
        r = np.array([-13 + a + ((5 - b) * b - 2) * b, -29 + a + ((b + 1) * b - 14) * b])
        J = np.array([[1.0, 10 * b - 3 * b * b - 2], [1.0, 3 * b * b + 2 * b - 14]])
        return r, J
    add("MGH02-freudenstein-roth",
        ["-13 + x1 + ((5 - x2)*x2 - 2)*x2", "-29 + x1 + ((x2 + 1)*x2 - 14)*x2"], fr,
        [0.5, -2.0], [(0.0, 20.0), (-30.0, -0.9)], MGH_FSTAR["fr"][0], "MGH #2, Gay's box",
        xstar=MGH_FSTAR["fr"][1])

    # 6 Jennrich & Sampson (m = 10), x1 >= 0.26 (cuts off (0.2578, 0.2578), f = 124.362).
    # TOMLAB: 2 x 62.191556458188948 = 124.3831129163779.
    k = np.arange(1, 11, dtype=float)

    def js(x):
        e1, e2 = np.exp(k * x[0]), np.exp(k * x[1])
        return 2 + 2 * k - e1 - e2, np.column_stack([-k * e1, -k * e2])
    add("MGH06-jennrich-sampson",
        [f"{int(2 + 2 * i)} - exp({int(i)}*x1) - exp({int(i)}*x2)" for i in k], js,
        [0.3, 0.4], [(0.26, 10.0), (0.0, 20.0)], MGH_FSTAR["js"][0], "MGH #6, Gay's box",
        xstar=MGH_FSTAR["js"][1])

    # 8 Bard, x1 >= 0.1 (cuts off (0.0824, 1.133, 2.344), f = 8.21487e-3).
    # TOMLAB: 2 x 0.00479114236 = 0.00958228472. From the standard start SciPy stops after
    # 5 iterations at f = 1.5145 on its relative-reduction test, with a projected gradient
    # of 1.1 (not a minimum); from other starts it reaches f*, which the best of 1000 starts
    # and TOMLAB confirm.
    bu = np.arange(1, 16, dtype=float)
    bv = 16 - bu
    bw = np.minimum(bu, bv)
    by = np.array(BARD_Y)

    def bard(x):
        den = bv * x[1] + bw * x[2]
        r = by - (x[0] + bu / den)
        J = np.column_stack([-np.ones(15), bu * bv / den ** 2, bu * bw / den ** 2])
        return r, J
    add("MGH08-bard",
        [f"{num(y)} - (x1 + {num(u)}/({num(v)}*x2 + {num(w)}*x3))"
         for y, u, v, w in zip(by, bu, bv, bw)], bard,
        [1.0, 1.0, 1.0], [(0.1, 50.0), (0.0, 100.0), (0.0, 50.0)], MGH_FSTAR["bard"][0],
        "MGH #8, Gay's box", xstar=MGH_FSTAR["bard"][1])

    # 10 Meyer, x1 >= 0.006 (cuts off (0.0056, 6181, 345), f = 87.9458).
    # TOMLAB: 2 x 63.7258856 = 127.4517712. SciPy does not get off the standard start
    # (f = 1.69e9, |g| = 8.7e10): its first steps change f by less than its relative-
    # reduction tolerance. f* is the best of 1000 starts (the three best agree to 1e-9
    # relative) and agrees with TOMLAB to the 10 digits it prints.
    mt = 45 + 5 * np.arange(1, 17, dtype=float)
    my = np.array(MEYER_Y)

    def meyer(x):
        d = mt + x[2]
        e = np.exp(x[1] / d)
        r = x[0] * e - my
        J = np.column_stack([e, x[0] * e / d, -x[0] * e * x[1] / d ** 2])
        return r, J
    add("MGH10-meyer", [f"x1*exp(x2/({num(t)} + x3)) - {num(y)}" for t, y in zip(mt, my)],
        meyer, [0.02, 4000.0, 250.0], [(0.006, 2.0), (0.0, 3e5), (0.0, 3e4)],
        MGH_FSTAR["meyer"][0], "MGH #10, Gay's box", xstar=MGH_FSTAR["meyer"][1])

    # 12 Box 3-D (m = 10), x2 <= 9.5 and x1 <= 2 (cut off (1, 10, 1), (10, 1, -1) and the
    # line x1 = x2, x3 = 0). TOMLAB: 2 x 0.00005717409 = 1.1434818e-4 at (1.0379, 9.5,
    # 0.9722). The start (0, 10, 20) has x2 > 9.5: projected to (0, 9.5, 20).
    bt = 0.1 * np.arange(1, 11, dtype=float)
    bc = np.exp(-bt) - np.exp(-10 * bt)

    def box3d(x):
        e1, e2 = np.exp(-bt * x[0]), np.exp(-bt * x[1])
        return e1 - e2 - x[2] * bc, np.column_stack([-bt * e1, bt * e2, -bc])
    add("MGH12-box3d",
        [f"exp(-{num(t)}*x1) - exp(-{num(t)}*x2) - x3*{num(c)}" for t, c in zip(bt, bc)],
        box3d, [0.0, 10.0, 20.0], [(0.0, 2.0), (5.0, 9.5), (0.0, 20.0)],
        MGH_FSTAR["box3d"][0], "MGH #12, Gay's box", xstar=MGH_FSTAR["box3d"][1])

    # 13 Powell singular, x1 >= 0.1 (cuts off 0). TOMLAB: 2 x 0.000093909815 = 1.8781963e-4.
    s5, s10 = math.sqrt(5), math.sqrt(10)

    def powell(x):
        a, b, c, d = x
        r = np.array([a + 10 * b, s5 * (c - d), (b - 2 * c) ** 2, s10 * (a - d) ** 2])
        J = np.array([[1.0, 10.0, 0.0, 0.0], [0.0, 0.0, s5, -s5],
                      [0.0, 2 * (b - 2 * c), -4 * (b - 2 * c), 0.0],
                      [2 * s10 * (a - d), 0.0, 0.0, -2 * s10 * (a - d)]])
        return r, J
    lo, hi = box([(0.1, 100.0), (-20.0, 20.0), (-1.0, 1.0), (-1.0, 50.0)])
    P.append(Problem("MGH13-powell-singular",
                     "(x1 + 10*x2)^2 + 5*(x3 - x4)^2 + (x2 - 2*x3)^4 + 10*(x1 - x4)^4",
                     np.array([3.0, -1.0, 0.0, 1.0]), lo, hi, least_squares(powell),
                     MGH_FSTAR["powell"][0], "MGH #13, Gay's box",
                     xstar=np.array(MGH_FSTAR["powell"][1])))

    # 15 Kowalik & Osborne, x3 >= 0.13 (cuts off (0.1928, 0.1913, 0.1231, 0.1361),
    # f = 3.07505e-4). TOMLAB: 2 x 0.000153915361732099 = 3.07830723464198e-4.
    ky, ku = np.array(KOWALIK_Y), np.array(KOWALIK_U)

    def kowalik(x):
        num_ = ku * ku + ku * x[1]
        den = ku * ku + ku * x[2] + x[3]
        r = ky - x[0] * num_ / den
        J = np.column_stack([-num_ / den, -x[0] * ku / den, x[0] * num_ * ku / den ** 2,
                             x[0] * num_ / den ** 2])
        return r, J
    add("MGH15-kowalik-osborne",
        [f"{num(y)} - x1*({num(u * u)} + {num(u)}*x2)/({num(u * u)} + {num(u)}*x3 + x4)"
         for y, u in zip(ky, ku)], kowalik,
        [0.25, 0.39, 0.415, 0.39], [(0.0, 10.0), (-1.0, 12.0), (0.13, 13.0), (0.12, 12.0)],
        MGH_FSTAR["kowalik"][0], "MGH #15, Gay's box", xstar=MGH_FSTAR["kowalik"][1])

    # 16 Brown & Dennis (m = 20), x1 >= -10, x4 <= 0.2 (cut off (-11.59, 13.20, -0.403,
    # 0.2368), f = 85822.2). TOMLAB: 2 x 44430.239883750226 = 88860.47976750045.
    dt = np.arange(1, 21, dtype=float) / 5
    det, dst, dct = np.exp(dt), np.sin(dt), np.cos(dt)

    def brown_dennis(x):
        a = x[0] + dt * x[1] - det
        b = x[2] + x[3] * dst - dct
        r = a * a + b * b
        J = np.column_stack([2 * a, 2 * a * dt, 2 * b, 2 * b * dst])
        return r, J
    add("MGH16-brown-dennis",
        [f"(x1 + {num(t)}*x2 - {num(e)})^2 + (x3 + {num(s)}*x4 - {num(c)})^2"
         for t, e, s, c in zip(dt, det, dst, dct)], brown_dennis,
        [25.0, 5.0, -5.0, -1.0], [(-10.0, 100.0), (0.0, 15.0), (-100.0, 0.0), (-20.0, 0.2)],
        MGH_FSTAR["brown_dennis"][0], "MGH #16, Gay's box",
        xstar=MGH_FSTAR["brown_dennis"][1])

    # 17 Osborne 1, x2 <= 1.9 (cuts off (0.3754, 1.9358, -1.4647, 0.01287, 0.02212),
    # f = 5.46489e-5). TOMLAB: 2 x 0.000027351416716868 = 5.4702833433736e-5.
    ot = 10 * np.arange(33, dtype=float)
    oy = np.array(OSBORNE1_Y)

    def osborne1(x):
        e4, e5 = np.exp(-ot * x[3]), np.exp(-ot * x[4])
        r = oy - (x[0] + x[1] * e4 + x[2] * e5)
        J = np.column_stack([-np.ones(33), -e4, -e5, ot * x[1] * e4, ot * x[2] * e5])
        return r, J
    add("MGH17-osborne1",
        [f"{num(y)} - (x1 + x2*exp(-{num(t)}*x4) + x3*exp(-{num(t)}*x5))"
         for y, t in zip(oy, ot)], osborne1,
        [0.5, 1.5, -1.0, 0.01, 0.02],
        [(0.0, 50.0), (0.0, 1.9), (-50.0, -0.1), (0.0, 10.0), (0.0, 10.0)],
        MGH_FSTAR["osborne1"][0], "MGH #17, Gay's box", xstar=MGH_FSTAR["osborne1"][1])

    # 27 Brown almost-linear, n = 10: x2 >= 1, x3 <= 0.9 (cuts off x = 1). The start 0.5
    # has x2 < 1: projected to 1. TOMLAB: 2 x 0.003046589288298371 = 0.006093178576596742.
    def brown_al(x):
        n = len(x)
        s = x.sum()
        r = np.empty(n)
        r[:-1] = x[:-1] + s - (n + 1)
        r[-1] = np.prod(x) - 1
        J = np.ones((n, n))
        J[np.arange(n - 1), np.arange(n - 1)] += 1
        J[-1] = [np.prod(np.delete(x, j)) for j in range(n)]
        return r, J
    allsum = "(" + " + ".join(V(j) for j in range(10)) + ")"
    add("MGH27-brown-almost-linear",
        [f"{V(i)} + {allsum} - 11" for i in range(9)]
        + ["*".join(V(j) for j in range(10)) + " - 1"],
        brown_al, [0.5] * 10,
        [(0.0, 100.0), (1.0, 100.0), (0.0, 0.9)] + [(0.0, 100.0)] * 7,
        MGH_FSTAR["brown_al"][0], "MGH #27 (n = 10), Gay's box",
        xstar=MGH_FSTAR["brown_al"][1])

    # (19 Osborne 2 is left out: Gay's box fixes x11 at 0 as TOMLAB transcribes it — or
    # not, as PyOPUS does — and either way it has many local minima whose lowest is not
    # settled: 200 random starts gave 0.31267, 2000 gave 0.30256, TOMLAB reports 0.51038.)

    # 32 Linear function, full rank, n = 10, m = 20: x1 >= -0.5 (cuts off x = -1, f = m - n).
    # Strictly convex; x* = (-0.5, -1, ..., -1) satisfies the KKT conditions (the gradient
    # there is (1, 0, ..., 0)), so f* = m - n + 1/4 = 10.25 exactly, as TOMLAB has it
    # (2 x 5.125) and as SciPy's bounded-variable least squares (lsq_linear, BVLS) gives.
    ln, lm = 10, 20

    def linear_full_rank(x):
        t = (2 / lm) * x.sum() + 1
        r = np.concatenate([x - t, np.full(lm - ln, -t)])
        J = np.vstack([np.eye(ln) - (2 / lm), np.full((lm - ln, ln), -(2 / lm))])
        return r, J
    lsum = "(" + " + ".join(V(j) for j in range(ln)) + ")"
    add("MGH32-linear-full-rank",
        [f"{V(i)} - {num(2 / lm)}*{lsum} - 1" for i in range(ln)]
        + [f"-{num(2 / lm)}*{lsum} - 1"] * (lm - ln), linear_full_rank, [1.0] * ln,
        [(-0.5, 100.0)] + [(-2.0, 100.0)] * (ln - 1), lm - ln + 0.25,
        "MGH #32 (n = 10, m = 20), Gay's box", xstar=[-0.5] + [-1.0] * (ln - 1))

    # 35 Chebyquad, n = m = 8: x1 <= 0.04, x2 <= 0.2, 0.1 <= x3 <= 0.3, others in [0, 1].
    # The start j/9 is projected (x1 -> 0.04, x3 -> 0.3). TOMLAB: 2 x 0.001796121192987531
    # = 0.003592242385975062 at (0.04, 0.1888, 0.2650, 0.7320, 0.9559, 0.4974, 0.4974,
    # 0.8045) (the unconstrained minimum is 3.51687e-3).
    cn = 8

    def chebyquad(x):
        y = 2 * x - 1
        T = [np.ones(cn), y.copy()]
        dT = [np.zeros(cn), np.ones(cn)]
        for _ in range(cn - 1):
            T.append(2 * y * T[-1] - T[-2])
            dT.append(2 * T[-2] + 2 * y * dT[-1] - dT[-2])
        r = np.array([T[i].sum() / cn + (1 / (i * i - 1) if i % 2 == 0 else 0.0)
                      for i in range(1, cn + 1)])
        J = np.array([2 * dT[i] / cn for i in range(1, cn + 1)])
        return r, J

    def cheb_poly(i, var):
        c = np.polynomial.chebyshev.cheb2poly([0] * i + [1])  # T_i in powers of y
        y = f"(2*{var} - 1)"
        s = num(c[-1])
        for a in c[-2::-1]:
            s = f"{num(a)} + {y}*({s})" if a != 0 else f"{y}*({s})"
        return f"({s})"
    cheb_res = []
    for i in range(1, cn + 1):
        body = " + ".join(cheb_poly(i, V(j)) for j in range(cn))
        const = f" + {num(1 / (i * i - 1))}" if i % 2 == 0 else ""
        cheb_res.append(f"({body})/{cn}{const}")
    add("MGH35-chebyquad", cheb_res, chebyquad, [j / (cn + 1) for j in range(1, cn + 1)],
        [(0.0, 0.04), (0.0, 0.2), (0.1, 0.3)] + [(0.0, 1.0)] * 5,
        MGH_FSTAR["chebyquad"][0], "MGH #35 (n = 8), Gay's box",
        xstar=MGH_FSTAR["chebyquad"][1])
    return P


# f* and a minimizer of each bounded MGH problem, computed as described above
# (`--verify-fstar --starts 1000` redoes it).
MGH_FSTAR = {
    "fr": (48.985202, [11.37, -0.9]),  # exact: r1 = -r2 = 4.949 there
    "js": (124.38311291637783, [0.26, 0.2557511456674089]),
    "bard": (0.009582284721153217, [0.1, 1.5194506372153358, 1.98187350467816]),
    "meyer": (127.45177121074099, [0.006, 6125.418984921764, 343.33772281515013]),
    "box3d": (0.00011434818026414127, [1.0379441327699306, 9.5, 0.9722275854201767]),
    "powell": (0.0001878196300583033,
               [0.1, -0.009982234148926232, 0.04307310768710059, 0.043783741404593096]),
    "kowalik": (0.00030783072346419674,
                [0.19303257466097642, 0.19784032370714652, 0.13, 0.13834564254142065]),
    "brown_dennis": (88860.47976750041, [-10.0, 12.67781828747641, -0.4855279815683614, 0.2]),
    "osborne1": (5.4702833433732725e-05, [0.37509204167901955, 1.9, -1.4285998958307593,
                                          0.012793394702819661, 0.02227185091308128]),
    "brown_al": (0.006093178576596701, [0.9696740113040972, 1.0, 0.9] + [0.969674011304097] * 6
                 + [1.3487161646441308]),
    "chebyquad": (0.0035922423859741535,
                  [0.04, 0.188770587666526, 0.2650039365353032, 0.7319510350847094,
                   0.49742403919699346, 0.9558605782058817, 0.4974240392652883,
                   0.8044656743481673]),
}


# --- Scalable bounded problems, n = 10, 100, 1000.

def ext_rosenbrock_box(n):
    """MGH #21 in Gay's box: x_odd in [-50, 0.5], x_even in [0, 100]. Each pair is HS-style
    Rosenbrock with x1 <= 0.5, so f* = (n/2)·(1/4) = n/8 at (0.5, 0.25, 0.5, 0.25, ...)."""
    def fg(x):
        o, e = x[0::2], x[1::2]
        t = e - o * o
        g = np.empty(n)
        g[0::2] = -400 * o * t - 2 * (1 - o)
        g[1::2] = 200 * t
        return float(np.sum(100 * t * t + (1 - o) ** 2)), g
    expr = " + ".join(f"100*({V(i + 1)} - {V(i)}^2)^2 + (1 - {V(i)})^2" for i in range(0, n, 2))
    lo = np.tile([-50.0, 0.0], n // 2)
    hi = np.tile([0.5, 100.0], n // 2)
    return Problem(f"rosenbrock-box:{n}", expr, np.tile([-1.2, 1.0], n // 2), lo, hi, fg,
                   n / 8, "MGH #21 in Gay's box", xstar=np.tile([0.5, 0.25], n // 2))


def bqp_tridiag(n):
    """A constructed strictly convex QP with a known solution and 2/3 of the bounds active:
    f = ½ xᵀAx − bᵀx, A = tridiag(−1, d_i, −1) with d_i = 3 + (7i mod 100) (eigenvalues
    in [1, 104]), box [−1, 1]. The solution is chosen first — x*_i = −1 (i ≡ 0 mod 3, lower
    bound, gradient +1), +1 (i ≡ 1, upper bound, gradient −1), 0.5 (i ≡ 2, free, gradient
    0) — and b = A x* − g*, so x* satisfies the KKT conditions strictly and is the unique
    minimizer. f* is computed exactly in rational arithmetic. Start: 0."""
    i = np.arange(1, n + 1)
    d = 3 + (7 * i) % 100
    xs = np.where(i % 3 == 0, -1.0, np.where(i % 3 == 1, 1.0, 0.5))
    gs = np.where(i % 3 == 0, 1.0, np.where(i % 3 == 1, -1.0, 0.0))

    def matvec(x):
        y = d * x
        y[:-1] -= x[1:]
        y[1:] -= x[:-1]
        return y
    b = matvec(xs) - gs  # exact: integers and halves

    def fg(x):
        ax = matvec(x)
        return float(0.5 * x @ ax - b @ x), ax - b
    xf = [Fraction(v) for v in xs]
    bf = [Fraction(v) for v in b]
    quad = sum(Fraction(int(d[k])) * xf[k] * xf[k] for k in range(n)) - 2 * sum(
        xf[k] * xf[k + 1] for k in range(n - 1))
    fstar = float(quad / 2 - sum(bf[k] * xf[k] for k in range(n)))
    terms = []
    for k in range(n):
        terms.append(f"{num(d[k] / 2)}*{V(k)}^2")
        if k + 1 < n:
            terms.append(f"- {V(k)}*{V(k + 1)}")
        if b[k] != 0:
            terms.append(f"- {num(b[k])}*{V(k)}")
    expr = " + ".join(terms).replace("+ -", "-")
    return Problem(f"bqp-tridiag:{n}", expr, np.zeros(n), np.full(n, -1.0), np.full(n, 1.0), fg,
                   fstar, "constructed (known KKT point)", xstar=xs)


def bdexp(n):
    """CUTEst BDEXP (Conn, Gould, Lescrenier & Toint 1988, problem 56): f = Σ_{i<=n-2}
    (x_i + x_{i+1}) exp(−x_{i+2}(x_i + x_{i+1})), x >= 0, start 1; f* = 0 (f >= 0 on the
    box, and f(0) = 0)."""
    def fg(x):
        s = x[:-2] + x[1:-1]
        e = np.exp(-x[2:] * s)
        g = np.zeros(n)
        a = e * (1 - x[2:] * s)
        g[:-2] += a
        g[1:-1] += a
        g[2:] += -s * s * e
        return float(np.sum(s * e)), g
    expr = " + ".join(f"({V(i)} + {V(i + 1)})*exp(-{V(i + 2)}*({V(i)} + {V(i + 1)}))"
                      for i in range(n - 2))
    return Problem(f"bdexp:{n}", expr, np.ones(n), np.zeros(n), np.full(n, INF), fg, 0.0,
                   "CUTEst BDEXP", xstar=np.zeros(n))


def cvxbqp1(n):
    """CUTEst CVXBQP1 (N. Gould 1995): f = Σ ½ i (x_i + x_{mod(2i−1,n)+1} +
    x_{mod(3i−1,n)+1})², 0.1 <= x <= 10, start 0.5. Every variable ends at its lower bound
    (the gradient there is positive in every component), so f* = ½·0.09·n(n+1)/2 — 227.25
    for n = 100, the value in the SIF file."""
    i = np.arange(1, n + 1)
    p = (2 * i - 1) % n
    q = (3 * i - 1) % n
    idx = np.arange(n)

    def fg(x):
        a = x + x[p] + x[q]
        w = 0.5 * i * a * a
        ga = i * a
        g = np.zeros(n)
        np.add.at(g, idx, ga)
        np.add.at(g, p, ga)
        np.add.at(g, q, ga)
        return float(w.sum()), g
    expr = " + ".join(f"{num(0.5 * k)}*({V(k - 1)} + {V(pk)} + {V(qk)})^2"
                      for k, pk, qk in zip(i, p, q))
    return Problem(f"cvxbqp1:{n}", expr, np.full(n, 0.5), np.full(n, 0.1), np.full(n, 10.0), fg,
                   9 * n * (n + 1) / 400, "CUTEst CVXBQP1", xstar=np.full(n, 0.1))


def penalty1_box(n):
    """MGH #23 Penalty I, f = 1e-5 Σ(x_i − 1)² + (Σx_i² − ¼)², in Gay's box for n = 10
    extended periodically: x_i in [1, 100] for i ≡ 2 (mod 4), else [0, 100]; start x_i = i
    (projected to 100 beyond 100). Within each class the minimizer's entries are equal
    (for fixed Σx², Σx is largest at equal entries), so f* is a two-variable minimization,
    done here by Newton's method: the bounded ones stay at 1, the others at a small b."""
    i = np.arange(1, n + 1)
    a, bval, fstar = penalty1_box_solution(n)
    xs = np.where(i % 4 == 2, a, bval)

    def fg(x):
        s = x @ x - 0.25
        return float(1e-5 * np.sum((x - 1) ** 2) + s * s), 2e-5 * (x - 1) + 4 * s * x
    expr = ("1e-5*(" + " + ".join(f"({V(j)} - 1)^2" for j in range(n)) + ") + ("
            + " + ".join(f"{V(j)}^2" for j in range(n)) + " - 0.25)^2")
    lo = np.where(i % 4 == 2, 1.0, 0.0)
    return Problem(f"penalty1-box:{n}", expr, np.minimum(i, 100).astype(float), lo,
                   np.full(n, 100.0), fg, fstar, "MGH #23, Gay's box (n = 10) extended",
                   xstar=xs)


def penalty1_box_solution(n):
    """(a, b, f*) of penalty1-box: K = #{i ≡ 2 mod 4} entries at a, F = n − K at b.
    ∂f/∂a = 2e-5·K(a − 1) + 4Ka(Ka² + Fb² − ¼) > 0 for a >= 1, so a = 1; then b >= 0
    minimizes the strictly convex 1e-5·F(b − 1)² + (K − ¼ + Fb²)², whose derivative
    vanishes at the one positive root of 2F b³ + (2(K − ¼) + 1e-5) b − 1e-5 = 0."""
    k = len(range(2, n + 1, 4))
    F = n - k
    c1 = 2 * (k - 0.25) + 1e-5
    b = 1e-5 / c1
    for _ in range(50):  # Newton from above the root of an increasing convex cubic
        b -= (2 * F * b ** 3 + c1 * b - 1e-5) / (6 * F * b * b + c1)
    fstar = 1e-5 * F * (b - 1) ** 2 + (k - 0.25 + F * b * b) ** 2
    return 1.0, b, fstar


# --- Objectives that are NaN outside their box.

def sqrt_box():
    """f = 2x1 − 4√x1 + (x2 − √x1)², x1 >= 0: NaN for x1 < 0, and its gradient is not
    finite at x1 = 0 (a projected step that lands on the bound meets it). f* = −2 at
    (1, 1): with x2 = √x1 what is left is 2(√x1 − 1)² − 2."""
    def fg(x):
        r = math.sqrt(x[0]) if x[0] >= 0 else math.nan
        with np.errstate(all="ignore"):
            inv = np.float64(1.0) / r if r == r else np.float64(math.nan)
            g1 = 2 - 2 * inv - (x[1] - r) * inv
        return float(2 * x[0] - 4 * r + (x[1] - r) ** 2), np.array([g1, 2 * (x[1] - r)])
    lo, hi = box([(0.0, INF), (-INF, INF)])
    return Problem("sqrt-box", "2*x1 - 4*sqrt(x1) + (x2 - sqrt(x1))^2", np.array([4.0, -10.0]),
                   lo, hi, fg, -2.0, "constructed", xstar=np.array([1.0, 1.0]),
                   nan_outside=True)


def log_active(n=10):
    """f = Σ (x_i − c_i log x_i) + 0.05 Σ (x_{i+1} − x_i)², x >= 1e-3 (one pair for all),
    with c_i = 1e-4, 1, 3 by i mod 3: NaN for x < 0; the variables with c = 1e-4 end on the
    bound 1e-3. Strictly convex, so its KKT point is the unique minimizer: f* and x* are
    that point as computed by --verify-fstar (projected gradient 2e-10)."""
    i = np.arange(1, n + 1)
    c = np.where(i % 3 == 0, 1e-4, np.where(i % 3 == 1, 1.0, 3.0))

    def fg(x):
        dx = np.diff(x)
        g = 1 - c / x
        g[:-1] -= 0.1 * dx
        g[1:] += 0.1 * dx
        return float(np.sum(x - c * np.log(x)) + 0.05 * dx @ dx), g
    expr = (" + ".join(f"{V(j)} - {num(c[j])}*log({V(j)})" for j in range(n)) + " + "
            + " + ".join(f"0.05*({V(j + 1)} - {V(j)})^2" for j in range(n - 1)))
    return Problem(f"log-active:{n}", expr, np.ones(n), np.full(n, 1e-3), np.full(n, INF), fg,
                   LOG_ACTIVE[0], "constructed", xstar=None if LOG_ACTIVE[1] is None
                   else np.array(LOG_ACTIVE[1]), nan_outside=True)


LOG_ACTIVE = (4.586742155446179,
              [1.125999807592523, 2.2450036167782828, 0.001, 1.0197088590917667,
               2.2316969943668155, 0.001, 1.0197088590917667, 2.2316969943668155, 0.001,
               0.9161572120288416])


def all_problems(max_n=None):
    P = hs_problems() + mgh_problems()
    for n in (10, 100, 1000):
        if max_n is None or n <= max_n:
            P += [ext_rosenbrock_box(n), bqp_tridiag(n), bdexp(n), cvxbqp1(n), penalty1_box(n)]
    P += [sqrt_box(), log_active()]
    return P


# ---------------------------------------------------------------------------------------
# A Python evaluator of descent's expression grammar (to check the strings against numpy)
# ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*)|(\S))")


def _safe(f):
    def g(v):
        try:
            return f(v)
        except (ValueError, ZeroDivisionError):
            return math.nan
        except OverflowError:
            return math.inf
    return g


def _log(v):
    if v == 0:
        return -math.inf
    return math.log(v) if v > 0 else math.nan


def _pow(a, b):
    try:
        return math.pow(a, b)
    except ZeroDivisionError:
        return math.inf
    except ValueError:
        return math.inf if a == 0 else math.nan
    except OverflowError:
        return math.inf


FUNCS = {"exp": _safe(math.exp), "log": _log, "ln": _log, "sqrt": _safe(math.sqrt),
         "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh,
         "atan": math.atan, "abs": abs}


def compile_expr(src):
    """Postfix program of src, by descent's grammar: expr := term (±term)*; term := unary
    ((*|/) unary)*; unary := ±unary | power; power := atom ('^' unary)?."""
    toks = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group(1):
            toks.append(("num", float(m.group(1))))
        elif m.group(2):
            toks.append(("id", m.group(2)))
        elif m.group(3):
            toks.append(("sym", m.group(3)))
    prog = []
    k = [0]

    def peek():
        return toks[k[0]] if k[0] < len(toks) else (None, None)

    def expect(c):
        if peek() != ("sym", c):
            raise ValueError(f"expected {c!r} at token {k[0]}")
        k[0] += 1

    def expr():
        term()
        while peek()[0] == "sym" and peek()[1] in "+-":
            op = peek()[1]
            k[0] += 1
            term()
            prog.append(("op", op))

    def term():
        unary()
        while peek()[0] == "sym" and peek()[1] in "*/":
            op = peek()[1]
            k[0] += 1
            unary()
            prog.append(("op", op))

    def unary():
        t = peek()
        if t == ("sym", "-"):
            k[0] += 1
            unary()
            prog.append(("neg", None))
        elif t == ("sym", "+"):
            k[0] += 1
            unary()
        else:
            atom()
            if peek() == ("sym", "^"):
                k[0] += 1
                unary()
                prog.append(("op", "^"))

    def atom():
        kind, v = peek()
        k[0] += 1
        if kind == "num":
            prog.append(("num", v))
        elif kind == "sym" and v == "(":
            expr()
            expect(")")
        elif kind == "id":
            if v in FUNCS:
                expect("(")
                expr()
                expect(")")
                prog.append(("call", FUNCS[v]))
            elif v == "pi":
                prog.append(("num", math.pi))
            elif v == "e":
                prog.append(("num", math.e))
            else:
                m = re.fullmatch(r"x([1-9]\d*)", v)
                if not m:
                    raise ValueError(f"unknown name {v!r}")
                prog.append(("var", int(m.group(1)) - 1))
        else:
            raise ValueError(f"unexpected token {v!r}")
    expr()
    if k[0] != len(toks):
        raise ValueError(f"trailing tokens from {k[0]}")
    return prog


def eval_expr(prog, x):
    st = []
    for kind, v in prog:
        if kind == "num":
            st.append(v)
        elif kind == "var":
            st.append(float(x[v]))
        elif kind == "neg":
            st.append(-st.pop())
        elif kind == "call":
            st.append(v(st.pop()))
        else:
            b, a = st.pop(), st.pop()
            if v == "+":
                st.append(a + b)
            elif v == "-":
                st.append(a - b)
            elif v == "*":
                st.append(a * b)
            elif v == "/":
                st.append(a / b if b != 0 else (math.nan if a == 0 else math.copysign(math.inf, a)))
            else:
                st.append(_pow(a, b))
    return st.pop()


def expr_dim(prog):
    return 1 + max(v for kind, v in prog if kind == "var")


# ---------------------------------------------------------------------------------------
# --verify-fstar: multistart SciPy plus Newton polish, to confirm the f* written above
# ---------------------------------------------------------------------------------------

def tight_lbfgsb(p, x0):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = minimize(p.fg, x0, jac=True, method="L-BFGS-B", bounds=Bounds(p.lo, p.hi),
                     options=dict(ftol=1e-15, gtol=1e-12, maxiter=50000, maxfun=50000))
    return r.x, float(r.fun)


def newton_polish(p, x, iters=30):
    """Newton's method on the free variables, the active bounds fixed (Hessian by central
    differences of the exact gradient), with a backtracking projected step."""
    x = x.copy()
    with np.errstate(all="ignore"):
        for _ in range(iters):
            f, g = p.fg(x)
            near_lo = x - p.lo <= 1e-9 * np.maximum(1.0, np.abs(x))
            near_hi = p.hi - x <= 1e-9 * np.maximum(1.0, np.abs(x))
            at_lo, at_hi = near_lo & (g > 0), near_hi & (g < 0)
            x[at_lo], x[at_hi] = p.lo[at_lo], p.hi[at_hi]
            free = np.where(~(at_lo | at_hi | (p.lo == p.hi)))[0]
            if len(free) == 0:
                break
            h = 1e-6 * np.maximum(1.0, np.abs(x[free]))
            H = np.empty((len(free), len(free)))
            for k, j in enumerate(free):
                e = np.zeros(p.n)
                e[j] = h[k]
                H[:, k] = (p.fg(x + e)[1][free] - p.fg(x - e)[1][free]) / (2 * h[k])
            try:
                d = np.linalg.solve(0.5 * (H + H.T), -g[free])
            except np.linalg.LinAlgError:
                break
            t, moved = 1.0, False
            while t > 1e-8 and not moved:
                y = x.copy()
                y[free] = project(x[free] + t * d, p.lo[free], p.hi[free])
                if p.fg(y)[0] <= f:
                    moved = bool(np.any(y != x))
                    x = y
                t /= 2
            if not moved:
                break
    return x


def verify_fstar(problems, starts, seed=1):
    """For each problem: the best of SciPy runs (ftol 1e-15, gtol 1e-12) from the start and
    from `starts` random points in the box (half uniform in the box, half within a factor
    of 10 of the start's scale), polished by newton_polish; prints it beside the script's
    f*, with the projected-gradient norm and the lowest distinct values found."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for p in problems:
        lo = np.where(np.isfinite(p.lo), p.lo, p.x0 - 10)
        hi = np.where(np.isfinite(p.hi), p.hi, p.x0 + 10)
        cands = [p.x0]
        for _ in range(starts):
            if rng.random() < 0.5:
                cands.append(lo + (hi - lo) * rng.random(p.n))
            else:
                scale = np.maximum(1.0, np.abs(p.x0)) * 10 ** rng.uniform(-2, 1, p.n)
                w = np.minimum(hi - lo, scale)
                cands.append(project(p.x0 + w * rng.uniform(-1, 1, p.n), p.lo, p.hi))
        found = []
        for c in cands:
            x, f = tight_lbfgsb(p, c)
            if math.isfinite(f) and in_box(p, x):
                found.append((f, x))
        f_best, x_best = min(found, key=lambda t: t[0])
        x_best = newton_polish(p, x_best)
        f_best, g = p.fg(x_best)
        pg = float(np.max(np.abs(project(x_best - g, p.lo, p.hi) - x_best)))
        gap = (p.fstar - f_best) / max(1.0, abs(p.fstar))
        worst = max(worst, gap)
        distinct = sorted({float(f"{f:.9g}") for f, _ in found})[:5]
        flag = "  <-- LOWER than f*" if gap > 1e-10 else ""
        print(f"{p.name:28} f* {p.fstar:<24.17g} best {f_best:<24.17g} |P(x-g)-x| {pg:.1e}"
              f"  lowest {distinct}{flag}", flush=True)
        if p.n <= 12:
            print(f"{'':28} x = {[float(v) for v in x_best]}")
    print(f"largest (f* - best)/max(1,|f*|) = {worst:.2e}")


# ---------------------------------------------------------------------------------------
# Checks, runs, report
# ---------------------------------------------------------------------------------------

def tol(fstar):
    return 1e-8 * max(1.0, abs(fstar))


def fval(p, x):
    with np.errstate(all="ignore"):
        try:
            return float(p.fg(np.asarray(x, dtype=float))[0])
        except (ValueError, FloatingPointError, ZeroDivisionError, OverflowError):
            return math.nan


def in_box(p, x):
    x = np.asarray(x, dtype=float)
    return bool(x.shape == p.lo.shape and np.all(x >= p.lo) and np.all(x <= p.hi))


def verdict(p, x):
    """('yes' | 'loc' | 'no' | 'box!' | 'err', f recomputed at x)."""
    if x is None:
        return "err", math.nan
    if not in_box(p, x):
        return "box!", fval(p, x)
    f = fval(p, x)
    if not math.isfinite(f):
        return "no", f
    if f - p.fstar <= tol(p.fstar):
        return "yes", f
    if any(abs(f - m) <= tol(m) for m in p.local_minima):
        return "loc", f
    return "no", f


def check_problem(p, rng):
    """Checks a problem's definition: the expression against numpy, the gradient against
    central differences, x0 in the box, f(x*) = f*. Returns a list of failures."""
    bad = []
    if len(p.expr) > MAX_ARG:
        bad.append(f"expression is {len(p.expr)} characters (limit {MAX_ARG})")
    if not in_box(p, p.x0):
        bad.append("x0 outside the box")
    prog = compile_expr(p.expr)
    if expr_dim(prog) != p.n:
        bad.append(f"expression has {expr_dim(prog)} variables, problem {p.n}")
    # A random point in the box (a box of width 2 around x0 where a side is infinite),
    # kept away from the bounds so central differences stay inside.
    lo = np.where(np.isfinite(p.lo), p.lo, p.x0 - 1.0)
    hi = np.where(np.isfinite(p.hi), p.hi, np.maximum(p.x0, lo) + 1.0)
    width = hi - lo
    z = lo + width * (0.1 + 0.8 * rng.random(p.n))
    z = np.where(width == 0, lo, z)
    for label, pt in (("x0", p.x0), ("random point", z)):
        fe = eval_expr(prog, pt)
        fn = fval(p, pt)
        if not (abs(fe - fn) <= 1e-9 * max(1.0, abs(fn))):
            bad.append(f"expression {fe!r} != numpy {fn!r} at {label}")
    with np.errstate(all="ignore"):
        g = p.fg(z)[1]
        h = 1e-6 * np.maximum(1.0, np.abs(z))
        gfd = np.empty(p.n)
        for j in range(p.n):
            if width[j] == 0:
                gfd[j] = g[j]
                continue
            e = np.zeros(p.n)
            e[j] = h[j]
            gfd[j] = (p.fg(z + e)[0] - p.fg(z - e)[0]) / (2 * h[j])
    err = np.max(np.abs(g - gfd)) / max(1.0, np.max(np.abs(g)))
    if not err <= 1e-5:
        bad.append(f"gradient differs from central differences by {err:.1e} (relative)")
    if p.xstar is not None:
        if not in_box(p, p.xstar):
            bad.append("x* outside the box")
        fs = fval(p, p.xstar)
        if not abs(fs - p.fstar) <= tol(p.fstar):
            bad.append(f"f(x*) = {fs!r} but f* = {p.fstar!r}")
    return bad


def run_scipy(p):
    count = [0]

    def fun(x):
        count[0] += 1
        with np.errstate(all="ignore"):
            f, g = p.fg(x)
        return f, g
    t0 = time.perf_counter()
    out = dict(f=None, x=None, nfev=0, success=False, message="")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = minimize(fun, p.x0, jac=True, method="L-BFGS-B", bounds=Bounds(p.lo, p.hi),
                         options=SCIPY_OPTIONS)
        out.update(f=float(r.fun), x=[float(v) for v in r.x], success=bool(r.success),
                   message=str(r.message), nit=int(r.nit))
    except Exception as e:  # noqa: BLE001 - a crash of the optimizer is a result
        out.update(message=f"{type(e).__name__}: {e}")
    out["nfev"] = count[0]
    out["seconds"] = time.perf_counter() - t0
    out["verdict"], out["f_check"] = verdict(p, out["x"])
    return out


def bounds_arg(p):
    def side(v):
        return "inf" if v == INF else "-inf" if v == -INF else repr(float(v))
    pairs = [f"{side(a)}:{side(b)}" for a, b in zip(p.lo, p.hi)]
    return pairs[0] if len(set(pairs)) == 1 else ",".join(pairs)


def descent_command(exe, p, extra):
    return [exe, "minimize", f"--expr={p.expr}",
            "--x0=" + ",".join(repr(float(v)) for v in p.x0),
            f"--bounds={bounds_arg(p)}", "--method", "lbfgsb", "--json"] + list(extra)


def run_descent(exe, p, extra, timeout):
    t0 = time.perf_counter()
    out = dict(f=None, x=None, f_evals=0, g_evals=0, termination="", converged=False,
               message="")
    try:
        cp = subprocess.run(descent_command(exe, p, extra), capture_output=True, text=True,
                            timeout=timeout)
        if cp.returncode != 0:
            lines = (cp.stderr.strip() or cp.stdout.strip() or "no output").splitlines()
            out["message"] = f"exit {cp.returncode}: {lines[-1] if lines else ''}"
        else:
            r = json.loads(cp.stdout)
            x = r.get("x")
            out.update(f=r.get("f"), x=None if x is None else [math.nan if v is None else float(v)
                                                              for v in x],
                       f_evals=int(r.get("f_evals") or 0), g_evals=int(r.get("g_evals") or 0),
                       iterations=r.get("iterations"), termination=str(r.get("termination")),
                       converged=bool(r.get("converged")), active_bounds=r.get("active_bounds"))
    except subprocess.TimeoutExpired:
        out["message"] = f"timed out after {timeout} s"
    except (OSError, ValueError) as e:
        out["message"] = f"{type(e).__name__}: {e}"
    out["seconds"] = time.perf_counter() - t0
    out["verdict"], out["f_check"] = verdict(p, out["x"])
    if out["f"] is None:
        out["f"] = math.nan
    # descent's own f against numpy's at its x (they should agree to rounding)
    fc = out["f_check"]
    out["f_mismatch"] = bool(math.isfinite(fc)
                             and not abs(out["f"] - fc) <= 1e-9 * max(1.0, abs(fc)))
    return out


def fmt(v, w=13):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return f"{'nan':>{w}}"
    return f"{v:>{w}.6g}"


def finite_or_none(v):
    """JSON has no NaN or infinity: those become null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite_or_none(w) for k, w in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite_or_none(w) for w in v]
    return v


def median(xs):
    return statistics.median(xs) if xs else math.nan


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["scipy", "descent"], help="run one optimizer only")
    ap.add_argument("--json", metavar="FILE", help="write every result to FILE")
    ap.add_argument("--exe", default=os.environ.get("DESCENT_EXE", DEFAULT_EXE),
                    help="descent binary (default: $DESCENT_EXE or target/release/descent)")
    ap.add_argument("--build", action="store_true",
                    help="cargo build --release -p descent-cli first")
    ap.add_argument("--problems",
                    help="comma-separated names or name prefixes (e.g. HS2,MGH,bdexp)")
    ap.add_argument("--max-n", type=int, help="skip the scalable sizes above N")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per descent run")
    ap.add_argument("--descent-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for `descent minimize`, repeatable; write it with '=' "
                         "when it starts with '-', e.g. --descent-arg=--gtol=1e-10")
    ap.add_argument("--list", action="store_true", help="list the problems and exit")
    ap.add_argument("--verify-fstar", action="store_true",
                    help="re-derive f* by multistart SciPy + Newton polish and exit")
    ap.add_argument("--starts", type=int, default=200, help="random starts for --verify-fstar")
    ap.add_argument("--no-check", action="store_true", help="skip the definition checks")
    ap.add_argument("--verbose", action="store_true", help="print each run as it ends")
    a = ap.parse_args(argv)

    problems = all_problems(a.max_n)
    if a.problems:
        keys = [k.strip() for k in a.problems.split(",") if k.strip()]
        names = {p.name for p in problems}
        problems = [p for p in problems
                    if any(p.name == k if k in names else p.name.startswith(k) for k in keys)]
        if not problems:
            sys.exit(f"no problem matches {a.problems!r} (see --list)")
    if a.list:
        for p in problems:
            flags = " (NaN outside the box)" if p.nan_outside else ""
            print(f"{p.name:28} n={p.n:<5} f*={p.fstar:<24.17g} {p.source}{flags}")
        return 0
    if a.verify_fstar:
        verify_fstar(problems, a.starts)
        return 0

    if not a.no_check:
        rng = np.random.default_rng(20240601)
        failures = 0
        for p in problems:
            for msg in check_problem(p, rng):
                failures += 1
                print(f"CHECK {p.name}: {msg}", file=sys.stderr)
        if failures:
            print(f"{failures} definition check(s) failed; results may be meaningless",
                  file=sys.stderr)

    run_d = a.only != "scipy"
    run_s = a.only != "descent"
    if run_d:
        if a.build:
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=ROOT,
                           check=True)
        if not (os.path.isfile(a.exe) and os.access(a.exe, os.X_OK)):
            sys.exit(f"descent binary not found at {a.exe}: build it (cargo build --release -p "
                     f"descent-cli, or --build), point --exe at it, or use --only scipy")

    results = []
    for p in problems:
        row = dict(name=p.name, n=p.n, fstar=p.fstar, source=p.source,
                   nan_outside=p.nan_outside, local_minima=list(p.local_minima))
        if run_d:
            row["descent"] = run_descent(a.exe, p, a.descent_arg, a.timeout)
        if run_s:
            row["scipy"] = run_scipy(p)
        results.append(row)
        if a.verbose:
            parts = [f"{p.name:28}"]
            for key, ev in (("descent", "f_evals"), ("scipy", "nfev")):
                if key in row:
                    r = row[key]
                    parts.append(f"{key} {r['verdict']:4} f={fmt(r['f'], 0)} evals={r[ev]} "
                                 f"{r.get('termination') or r.get('message', '')}")
            print("  ".join(parts), flush=True)

    # Table
    head = f"{'problem':28} {'n':>5} {'f*':>13}"
    if run_d:
        head += f" | {'descent f':>13} {'evals':>6} {'ok':4}"
    if run_s:
        head += f" | {'scipy f':>13} {'nfev':>6} {'ok':4}"
    print(head)
    print("-" * len(head))
    for row in results:
        line = f"{row['name']:28} {row['n']:>5} {fmt(row['fstar'])}"
        if run_d:
            d = row["descent"]
            mark = d["verdict"] + ("*" if d["f_mismatch"] else "")
            line += f" | {fmt(d['f'])} {d['f_evals']:>6} {mark:4}"
        if run_s:
            s = row["scipy"]
            line += f" | {fmt(s['f'])} {s['nfev']:>6} {s['verdict']:4}"
        print(line)
    print("ok: yes = f - f* <= 1e-8 max(1,|f*|) with x in the box; loc = a documented local "
          "minimum; no; box! = x outside the box; err = no result")
    if run_d and any(r["descent"]["f_mismatch"] for r in results):
        print("*: descent's reported f differs from numpy's f at its x by more than 1e-9 "
              "relative (the verdict uses numpy's)")

    total = len(results)
    summary = dict(problems=total)
    for key, label, ev in (("descent", "descent lbfgsb", "f_evals"),
                           ("scipy", "SciPy L-BFGS-B (tight)", "nfev")):
        if key not in results[0]:
            continue
        v = [r[key]["verdict"] for r in results]
        summary[key] = dict(reached=v.count("yes"), local=v.count("loc"),
                            outside_box=v.count("box!"), errors=v.count("err"))
        print(f"{label:24} reached f* {v.count('yes'):2}/{total}, a documented local minimum "
              f"{v.count('loc')}, outside the box {v.count('box!')}, no result {v.count('err')}")
    if run_d and run_s:
        both = [r for r in results if r["descent"]["verdict"] == "yes"
                and r["scipy"]["verdict"] == "yes"]
        md = median([r["descent"]["f_evals"] for r in both])
        ms = median([r["scipy"]["nfev"] for r in both])
        ratio = md / ms if both and ms else math.nan
        summary["both_reach"] = dict(count=len(both), median_descent=md, median_scipy=ms,
                                     ratio=ratio)
        print(f"on the {len(both)} both reach: median evaluations descent {md:g} vs SciPy {ms:g}"
              f" = {ratio:.2f}x")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(finite_or_none(dict(
                settings=dict(scipy=SCIPY_OPTIONS, descent_args=a.descent_arg,
                              exe=a.exe if run_d else None, reached_tolerance="1e-8*max(1,|f*|)"),
                results=results, summary=summary)), fh, indent=1, allow_nan=False)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
