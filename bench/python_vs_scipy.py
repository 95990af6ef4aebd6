#!/usr/bin/env python3
"""descent's Python package versus SciPy: `descent.minimize` and `scipy.optimize.minimize`
on the 38 Moré–Garbow–Hillstrom instances of `bench/mgh_vs_scipy.py`, in one run.

Both tools minimize the same Python function: each instance is written here in numpy as
`value_grad(x) -> (f, g)`, f = Σ fᵢ(x)² and its analytic gradient 2·Jᵀr, from the
paper's standard starting point. The method pairs are

    descent.minimize(fun, x0, jac=True, method=M)  vs  scipy.optimize.minimize(..., method=S)

for (M, S) = (L-BFGS-B, L-BFGS-B), (BFGS, BFGS), (CG, CG) (descent takes SciPy's names
as aliases), and descent's default (no method: lbfgs) versus SciPy's default for
unbounded problems (BFGS). SciPy runs twice, at its defaults and with the tight
tolerances of `bench/mgh_vs_scipy.py` (L-BFGS-B ftol 1e-15, gtol 1e-10; BFGS and CG gtol
1e-10); descent runs at its defaults.

For every run: the wall time (time.perf_counter, best of --repeats, 3 by default; a run
over 10 s is not repeated), the function evaluations (res.nfev, each one value and
gradient), and whether it reached f*: f − f* ≤ 1e-8·max(1, |f*|), f recomputed at the
returned x, for one of the instance's known minima. Per pair, a table: instances reached,
total and median time over all 38, median evaluations, and against descent the median
time ratio descent/SciPy on the instances both reach and the ratio of total times. Then
the tools' overheads: the time per `minimize` call on a 2-variable quadratic (1000 calls),
and the time per evaluation spent outside the objective in the MGH runs. BLAS runs on one
thread unless OPENBLAS_NUM_THREADS (OMP_, MKL_) says otherwise.

    python3 bench/python_vs_scipy.py [--repeats K] [--only NAME,...] [--verbose]
                                     [--json FILE]
    python3 bench/python_vs_scipy.py --check

Needs numpy, scipy and descent (pip install numpy scipy, and the package in python/).
`--check` instead compares every numpy instance with descent's Rust implementation (value
and gradient to 1e-10 relative, at x0 and at 3 random points near it; x0 and the known
minima exactly), served by the `mgh_serve` example; it needs cargo.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings

# One BLAS thread (unless set otherwise): at these sizes threads only add overhead, and on
# a busy machine OpenBLAS's spinning threads slow SciPy's L-BFGS-B down many times over.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.optimize  # noqa: E402

import descent  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, descent method or None for its default, SciPy method)
PAIRS = [
    ("L-BFGS-B", "L-BFGS-B", "L-BFGS-B"),
    ("BFGS", "BFGS", "BFGS"),
    ("CG", "CG", "CG"),
    ("defaults", None, "BFGS"),
]
LONG_RUN = 10.0  # seconds: a run this long is not repeated (its timing noise is negligible)
TIGHT = {
    "L-BFGS-B": dict(ftol=1e-15, gtol=1e-10, maxiter=10000, maxfun=100000),
    "BFGS": dict(gtol=1e-10, maxiter=10000),
    "CG": dict(gtol=1e-10, maxiter=20000),
}


# ---------------------------------------------------------------------------------------
# The 38 instances (J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained
# optimization software", ACM TOMS 7(1), 1981), as descent's crates/descent/src/problems/
# mgh.rs defines them. Each `*_rj(x)` returns the residuals r and the Jacobian J, except
# for the large block-separable ones, which return (f, g) directly.
# ---------------------------------------------------------------------------------------

TWO_PI = 2.0 * math.pi

BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96,
                   1.34, 2.10, 4.39])
GAUSSIAN_Y = np.array([0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
                       0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009])
MEYER_Y = np.array([34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0,
                    8261.0, 7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0])
KOWALIK_Y = np.array([0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342,
                      0.0323, 0.0235, 0.0246])
KOWALIK_U = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])
OSBORNE1_Y = np.array([0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784,
                       0.751, 0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522,
                       0.506, 0.490, 0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420,
                       0.414, 0.411, 0.406])
OSBORNE2_Y = np.array([1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725,
                       0.746, 0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724,
                       0.649, 0.649, 0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495,
                       0.500, 0.423, 0.395, 0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429,
                       0.523, 0.562, 0.607, 0.653, 0.672, 0.708, 0.633, 0.668, 0.645, 0.632,
                       0.591, 0.559, 0.597, 0.625, 0.739, 0.710, 0.729, 0.720, 0.636, 0.581,
                       0.428, 0.292, 0.162, 0.098, 0.054])


def rosenbrock(x):
    r = np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])
    J = np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])
    return r, J


def freudenstein_roth(x):
    a, b = x
    r = np.array([-13.0 + a + ((5.0 - b) * b - 2.0) * b,
                  -29.0 + a + ((b + 1.0) * b - 14.0) * b])
    J = np.array([[1.0, 10.0 * b - 3.0 * b * b - 2.0],
                  [1.0, 3.0 * b * b + 2.0 * b - 14.0]])
    return r, J


def powell_badly_scaled(x):
    e0, e1 = math.exp(-x[0]), math.exp(-x[1])
    r = np.array([1e4 * x[0] * x[1] - 1.0, e0 + e1 - 1.0001])
    J = np.array([[1e4 * x[1], 1e4 * x[0]], [-e0, -e1]])
    return r, J


def brown_badly_scaled(x):
    r = np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])
    J = np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])
    return r, J


BEALE_Y = np.array([1.5, 2.25, 2.625])
BEALE_K = np.arange(1, 4)


def beale(x):
    p = x[1] ** BEALE_K
    r = BEALE_Y - x[0] * (1.0 - p)
    J = np.column_stack([p - 1.0, x[0] * BEALE_K * x[1] ** (BEALE_K - 1)])
    return r, J


JS_K = np.arange(1, 11, dtype=float)


def jennrich_sampson(x):
    e0, e1 = np.exp(JS_K * x[0]), np.exp(JS_K * x[1])
    r = 2.0 + 2.0 * JS_K - (e0 + e1)
    J = np.column_stack([-JS_K * e0, -JS_K * e1])
    return r, J


def helical_valley(x):
    a, b, c = x
    if a != 0.0:
        theta = math.atan(b / a) / TWO_PI + (0.5 if a < 0.0 else 0.0)
        q = TWO_PI * (a * a + b * b)
        da, db = -b / q, a / q
    else:  # as descent: the branch's constant, derivative zero
        theta, da, db = (0.25 if b >= 0.0 else -0.25), 0.0, 0.0
    rho = math.sqrt(a * a + b * b)
    r = np.array([10.0 * (c - 10.0 * theta), 10.0 * (rho - 1.0), c])
    J = np.array([[-100.0 * da, -100.0 * db, 10.0],
                  [10.0 * a / rho, 10.0 * b / rho, 0.0],
                  [0.0, 0.0, 1.0]])
    return r, J


BARD_U = np.arange(1, 16, dtype=float)
BARD_V = 16.0 - BARD_U
BARD_W = np.minimum(BARD_U, BARD_V)


def bard(x):
    den = BARD_V * x[1] + BARD_W * x[2]
    r = BARD_Y - (x[0] + BARD_U / den)
    q = BARD_U / den ** 2
    J = np.column_stack([-np.ones(15), q * BARD_V, q * BARD_W])
    return r, J


GAUSSIAN_T = (8.0 - np.arange(1, 16)) / 2.0


def gaussian(x):
    d = GAUSSIAN_T - x[2]
    e = np.exp(-x[1] * d * d / 2.0)
    r = x[0] * e - GAUSSIAN_Y
    J = np.column_stack([e, -0.5 * x[0] * e * d * d, x[0] * e * x[1] * d])
    return r, J


MEYER_T = 45.0 + 5.0 * np.arange(1, 17)


def meyer(x):
    s = MEYER_T + x[2]
    e = np.exp(x[1] / s)
    r = x[0] * e - MEYER_Y
    J = np.column_stack([e, x[0] * e / s, -x[0] * e * x[1] / s ** 2])
    return r, J


GULF_T = np.arange(1, 100) / 100.0
GULF_Y = 25.0 + (-50.0 * np.log(GULF_T)) ** (2.0 / 3.0)


def gulf(x):
    u = GULF_Y - x[1]
    au = np.abs(u)
    p = au ** x[2]
    e = np.exp(-p / x[0])
    r = e - GULF_T
    J = np.column_stack([e * p / x[0] ** 2,
                         e / x[0] * x[2] * p / au * np.sign(u),
                         -e / x[0] * p * np.log(au)])
    return r, J


BOX_T = 0.1 * np.arange(1, 11)
BOX_C = np.exp(-BOX_T) - np.exp(-10.0 * BOX_T)


def box_3d(x):
    e0, e1 = np.exp(-BOX_T * x[0]), np.exp(-BOX_T * x[1])
    r = e0 - e1 - x[2] * BOX_C
    J = np.column_stack([-BOX_T * e0, BOX_T * e1, -BOX_C])
    return r, J


S5, S10, S90 = math.sqrt(5.0), math.sqrt(10.0), math.sqrt(90.0)


def powell_singular(x):
    a, b, c, d = x
    r = np.array([a + 10.0 * b, S5 * (c - d), (b - 2.0 * c) ** 2, S10 * (a - d) ** 2])
    J = np.array([[1.0, 10.0, 0.0, 0.0],
                  [0.0, 0.0, S5, -S5],
                  [0.0, 2.0 * (b - 2.0 * c), -4.0 * (b - 2.0 * c), 0.0],
                  [2.0 * S10 * (a - d), 0.0, 0.0, -2.0 * S10 * (a - d)]])
    return r, J


def wood(x):
    a, b, c, d = x
    r = np.array([10.0 * (b - a * a), 1.0 - a, S90 * (d - c * c), 1.0 - c,
                  S10 * (b + d - 2.0), (b - d) / S10])
    J = np.array([[-20.0 * a, 10.0, 0.0, 0.0],
                  [-1.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, -2.0 * S90 * c, S90],
                  [0.0, 0.0, -1.0, 0.0],
                  [0.0, S10, 0.0, S10],
                  [0.0, 1.0 / S10, 0.0, -1.0 / S10]])
    return r, J


def kowalik_osborne(x):
    u = KOWALIK_U
    num = u * u + u * x[1]
    den = u * u + u * x[2] + x[3]
    r = KOWALIK_Y - x[0] * num / den
    q = x[0] * num / den ** 2
    J = np.column_stack([-num / den, -x[0] * u / den, q * u, q])
    return r, J


BD_T = np.arange(1, 21) / 5.0
BD_E, BD_S, BD_C = np.exp(BD_T), np.sin(BD_T), np.cos(BD_T)


def brown_dennis(x):
    a = x[0] + BD_T * x[1] - BD_E
    b = x[2] + x[3] * BD_S - BD_C
    r = a * a + b * b
    J = np.column_stack([2.0 * a, 2.0 * a * BD_T, 2.0 * b, 2.0 * b * BD_S])
    return r, J


OS1_T = 10.0 * np.arange(33)


def osborne1(x):
    e3, e4 = np.exp(-OS1_T * x[3]), np.exp(-OS1_T * x[4])
    r = OSBORNE1_Y - (x[0] + x[1] * e3 + x[2] * e4)
    J = np.column_stack([-np.ones(33), -e3, -e4, x[1] * OS1_T * e3, x[2] * OS1_T * e4])
    return r, J


BIGGS_T = 0.1 * np.arange(1, 14)
BIGGS_Y = np.exp(-BIGGS_T) - 5.0 * np.exp(-10.0 * BIGGS_T) + 3.0 * np.exp(-4.0 * BIGGS_T)


def biggs_exp6(x):
    t = BIGGS_T
    e0, e1, e4 = np.exp(-t * x[0]), np.exp(-t * x[1]), np.exp(-t * x[4])
    r = x[2] * e0 - x[3] * e1 + x[5] * e4 - BIGGS_Y
    J = np.column_stack([-t * x[2] * e0, t * x[3] * e1, e0, -e1, -t * x[5] * e4, e4])
    return r, J


OS2_T = np.arange(65) / 10.0


def osborne2(x):
    t = OS2_T
    J = np.zeros((65, 11))
    e = np.exp(-t * x[4])
    model = x[0] * e
    J[:, 0], J[:, 4] = -e, x[0] * t * e
    for k in range(3):  # the Gaussian terms: x[1+k]·exp(−(t − x[8+k])²·x[5+k])
        d = t - x[8 + k]
        g = np.exp(-d * d * x[5 + k])
        model = model + x[1 + k] * g
        J[:, 1 + k] = -g
        J[:, 5 + k] = x[1 + k] * d * d * g
        J[:, 8 + k] = -2.0 * x[1 + k] * x[5 + k] * d * g
    return OSBORNE2_Y - model, J


def watson(n):
    t = (np.arange(1, 30) / 29.0)[:, None]
    j = np.arange(n)
    powers = t ** j  # t^j
    dpowers = j * t ** np.maximum(j - 1, 0)  # d/dt t^j = j·t^(j-1)

    def rj(x):
        s1 = dpowers @ x
        s2 = powers @ x
        r = np.empty(31)
        r[:29] = s1 - s2 * s2 - 1.0
        r[29] = x[0]
        r[30] = x[1] - x[0] ** 2 - 1.0
        J = np.zeros((31, n))
        J[:29] = dpowers - 2.0 * s2[:, None] * powers
        J[29, 0] = 1.0
        J[30, 0], J[30, 1] = -2.0 * x[0], 1.0
        return r, J

    return rj


def extended_rosenbrock(x):
    a, b = x[0::2], x[1::2]
    r1 = 10.0 * (b - a * a)
    r2 = 1.0 - a
    g = np.empty_like(x)
    g[0::2] = -40.0 * a * r1 - 2.0 * r2
    g[1::2] = 20.0 * r1
    return float(r1 @ r1 + r2 @ r2), g


def extended_powell(x):
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    r1 = a + 10.0 * b
    r2 = S5 * (c - d)
    u, v = b - 2.0 * c, a - d
    r3 = u * u
    r4 = S10 * v * v
    g = np.empty_like(x)
    g[0::4] = 2.0 * r1 + 4.0 * S10 * v * r4
    g[1::4] = 20.0 * r1 + 4.0 * u * r3
    g[2::4] = 2.0 * S5 * r2 - 8.0 * u * r3
    g[3::4] = -2.0 * S5 * r2 - 4.0 * S10 * v * r4
    return float(r1 @ r1 + r2 @ r2 + r3 @ r3 + r4 @ r4), g


SA = math.sqrt(1e-5)


def penalty1(x):
    n = x.size
    r = np.empty(n + 1)
    r[:n] = SA * (x - 1.0)
    r[n] = x @ x - 0.25
    J = np.vstack([SA * np.eye(n), 2.0 * x])
    return r, J


def penalty2(n):
    k = np.arange(2, n + 1)
    y = np.exp(k / 10.0) + np.exp((k - 1) / 10.0)
    w = (n - np.arange(n)).astype(float)
    e01 = math.exp(-0.1)
    rows = np.arange(n - 1)

    def rj(x):
        e = np.exp(x / 10.0)
        r = np.empty(2 * n)
        r[0] = x[0] - 0.2
        r[1:n] = SA * (e[1:] + e[:-1] - y)
        r[n:2 * n - 1] = SA * (e[1:] - e01)
        r[2 * n - 1] = w @ (x * x) - 1.0
        J = np.zeros((2 * n, n))
        J[0, 0] = 1.0
        de = SA * e / 10.0
        J[1 + rows, rows + 1] = de[1:]
        J[1 + rows, rows] = de[:-1]
        J[n + rows, rows + 1] = de[1:]
        J[2 * n - 1] = 2.0 * w * x
        return r, J

    return rj


def variably_dimensioned(x):
    n = x.size
    j = np.arange(1, n + 1, dtype=float)
    s = j @ (x - 1.0)
    r = np.concatenate([x - 1.0, [s, s * s]])
    J = np.vstack([np.eye(n), j, 2.0 * s * j])
    return r, J


def trigonometric(x):
    n = x.size
    c, s = np.cos(x), np.sin(x)
    i = np.arange(1, n + 1)
    r = n - c.sum() + i * (1.0 - c) - s
    J = np.tile(s, (n, 1)) + np.diag(i * s - c)
    return r, J


def brown_almost_linear(x):
    n = x.size
    r = np.empty(n)
    r[:n - 1] = x[:n - 1] + x.sum() - (n + 1)
    r[n - 1] = np.prod(x) - 1.0
    J = np.ones((n, n)) + np.eye(n)
    # ∂(Π x)/∂xⱼ = product of the others (prefix·suffix, no division)
    prefix = np.concatenate([[1.0], np.cumprod(x[:-1])])
    suffix = np.concatenate([np.cumprod(x[::-1][:-1])[::-1], [1.0]])
    J[n - 1] = prefix * suffix
    return r, J


def discrete_boundary(n):
    h = 1.0 / (n + 1)
    t1 = np.arange(1, n + 1) * h + 1.0

    def fg(x):
        v = x + t1
        r = 2.0 * x + h * h / 2.0 * v ** 3
        r[1:] -= x[:-1]
        r[:-1] -= x[1:]
        q = (2.0 + 1.5 * h * h * v * v) * r  # Jᵀr: tridiagonal J, off-diagonals −1
        q[:-1] -= r[1:]
        q[1:] -= r[:-1]
        return float(r @ r), 2.0 * q

    return fg


def discrete_integral(n):
    h = 1.0 / (n + 1)
    t = np.arange(1, n + 1) * h
    t1 = t + 1.0
    i, j = np.indices((n, n))
    K = h / 2.0 * np.where(j <= i, (1.0 - t[i]) * t[j], t[i] * (1.0 - t[j]))

    def rj(x):
        v = x + t1
        r = x + K @ v ** 3
        J = np.eye(n) + K * (3.0 * v * v)
        return r, J

    return rj


def broyden_tridiagonal(x):
    r = (3.0 - 2.0 * x) * x + 1.0
    r[1:] -= x[:-1]
    r[:-1] -= 2.0 * x[1:]
    q = (3.0 - 4.0 * x) * r  # Jᵀr: J[i, i−1] = −1, J[i, i+1] = −2
    q[:-1] -= r[1:]
    q[1:] -= 2.0 * r[:-1]
    return float(r @ r), 2.0 * q


def broyden_banded(n):
    i, j = np.indices((n, n))
    band = ((j >= i - 5) & (j <= i + 1) & (j != i)).astype(float)

    def rj(x):
        r = x * (2.0 + 5.0 * x * x) + 1.0 - band @ (x * (1.0 + x))
        J = np.diag(2.0 + 15.0 * x * x) - band * (1.0 + 2.0 * x)
        return r, J

    return rj


def linear_full_rank(m):
    def fg(x):
        n = x.size
        t = 2.0 / m * x.sum() + 1.0
        r = np.full(m, -t)
        r[:n] += x
        return float(r @ r), 2.0 * (r[:n] - 2.0 / m * r.sum())

    return fg


def linear_rank1(m):
    rowf = np.arange(1, m + 1, dtype=float)

    def fg(x):
        colf = np.arange(1, x.size + 1, dtype=float)
        r = rowf * (colf @ x) - 1.0
        return float(r @ r), 2.0 * (rowf @ r) * colf

    return fg


def linear_rank1_zero(m):
    rowf = np.arange(m, dtype=float)
    rowf[[0, m - 1]] = 0.0

    def fg(x):
        n = x.size
        colf = np.arange(1, n + 1, dtype=float)
        colf[[0, n - 1]] = 0.0
        r = rowf * (colf @ x) - 1.0
        return float(r @ r), 2.0 * (rowf @ r) * colf

    return fg


def chebyquad(n):
    integral = np.array([-1.0 / (k * k - 1.0) if k % 2 == 0 else 0.0 for k in range(1, n + 1)])

    def rj(x):
        y = 2.0 * x - 1.0
        T = np.empty((n, n))  # T[i, j] = T_{i+1}(y_j)
        dT = np.empty((n, n))  # d/dy
        t_prev, t_cur = np.ones(n), y
        d_prev, d_cur = np.zeros(n), np.ones(n)
        for i in range(n):
            T[i], dT[i] = t_cur, d_cur
            t_prev, t_cur = t_cur, 2.0 * y * t_cur - t_prev
            d_prev, d_cur = d_cur, 2.0 * T[i] + 2.0 * y * d_cur - d_prev
        r = T.sum(axis=1) / n - integral
        return r, 2.0 * dT / n

    return rj


def from_residuals(rj):
    """`(f, g)` with f = rᵀr, g = 2 Jᵀr, from a function returning (r, J)."""

    def fg(x):
        r, J = rj(x)
        return float(r @ r), 2.0 * (r @ J)

    return fg


class Instance:
    def __init__(self, name, n, m, x0, minima, fg):
        self.name, self.n, self.m = name, n, m
        self.x0 = np.asarray(x0, dtype=float)
        self.minima = list(minima)
        self.fg = fg

    def reached(self, f):
        return bool(np.isfinite(f)) and any(
            f - fs <= 1e-8 * max(1.0, abs(fs)) for fs in self.minima)


def instances():
    """The 38 instances, in the order of descent's `benchmark_instances()`."""
    v = []

    def add(name, n, m, x0, minima, fg=None, rj=None):
        v.append(Instance(name, n, m, x0, minima, fg if fg is not None else from_residuals(rj)))

    def h(n):  # tⱼ = j·h, h = 1/(n + 1)
        return np.arange(1, n + 1) * (1.0 / (n + 1.0))

    add("rosenbrock", 2, 2, [-1.2, 1.0], [0.0], rj=rosenbrock)
    add("freudenstein-roth", 2, 2, [0.5, -2.0], [0.0, 48.9842536792405], rj=freudenstein_roth)
    add("powell-badly-scaled", 2, 2, [0.0, 1.0], [0.0], rj=powell_badly_scaled)
    add("brown-badly-scaled", 2, 3, [1.0, 1.0], [0.0], rj=brown_badly_scaled)
    add("beale", 2, 3, [1.0, 1.0], [0.0], rj=beale)
    add("jennrich-sampson", 2, 10, [0.3, 0.4], [124.3621823554], rj=jennrich_sampson)
    add("helical-valley", 3, 3, [-1.0, 0.0, 0.0], [0.0], rj=helical_valley)
    add("bard", 3, 15, [1.0, 1.0, 1.0], [8.2148773065789e-3, 17.4286395085], rj=bard)
    add("gaussian", 3, 15, [0.4, 1.0, 0.0], [1.1279327696189e-8], rj=gaussian)
    add("meyer", 3, 16, [0.02, 4000.0, 250.0], [87.9458551704], rj=meyer)
    add("gulf", 3, 99, [5.0, 2.5, 0.15], [0.0], rj=gulf)
    add("box-3d", 3, 10, [0.0, 10.0, 20.0], [0.0], rj=box_3d)
    add("powell-singular", 4, 4, [3.0, -1.0, 0.0, 1.0], [0.0], rj=powell_singular)
    add("wood", 4, 6, [-3.0, -1.0, -3.0, -1.0], [0.0], rj=wood)
    add("kowalik-osborne", 4, 11, [0.25, 0.39, 0.415, 0.39],
        [3.0750560384924e-4, 1.0273437298e-3], rj=kowalik_osborne)
    add("brown-dennis", 4, 20, [25.0, 5.0, -5.0, -1.0], [85822.2016263562], rj=brown_dennis)
    add("osborne1", 5, 33, [0.5, 1.5, -1.0, 0.01, 0.02], [5.4648946974827e-5], rj=osborne1)
    add("biggs-exp6", 6, 13, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0], [0.0, 5.6556499255e-3],
        rj=biggs_exp6)
    add("osborne2", 11, 65, [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5],
        [4.0137736293545e-2], rj=osborne2)
    add("watson:6", 6, 31, np.zeros(6), [2.2876700535523e-3], rj=watson(6))
    add("watson:9", 9, 31, np.zeros(9), [1.3997601383e-6], rj=watson(9))
    for n in (100, 1000):
        add(f"extended-rosenbrock:{n}", n, n, np.tile([-1.2, 1.0], n // 2), [0.0],
            fg=extended_rosenbrock)
    add("extended-powell:100", 100, 100, np.tile([3.0, -1.0, 0.0, 1.0], 25), [0.0],
        fg=extended_powell)
    n = 10
    add("penalty1", n, n + 1, np.arange(1.0, n + 1), [7.0876514670904e-5], rj=penalty1)
    add("penalty2", n, 2 * n, np.full(n, 0.5), [2.936605374200e-4], rj=penalty2(n))
    add("variably-dimensioned", n, n + 2, 1.0 - np.arange(1, n + 1) / n, [0.0],
        rj=variably_dimensioned)
    add("trigonometric", n, n, np.full(n, 1.0 / n), [0.0, 2.7950561218766e-5], rj=trigonometric)
    add("brown-almost-linear", n, n, np.full(n, 0.5), [0.0, 1.0], rj=brown_almost_linear)
    add("discrete-boundary", n, n, h(n) * (h(n) - 1.0), [0.0], fg=discrete_boundary(n))
    add("discrete-integral", n, n, h(n) * (h(n) - 1.0), [0.0], rj=discrete_integral(n))
    add("broyden-tridiagonal", n, n, np.full(n, -1.0), [0.0], fg=broyden_tridiagonal)
    add("broyden-banded", n, n, np.full(n, -1.0), [0.0], rj=broyden_banded(n))
    m = 2 * n
    add("linear-full-rank", n, m, np.ones(n), [float(m - n)], fg=linear_full_rank(m))
    add("linear-rank1", n, m, np.ones(n), [m * (m - 1.0) / (2.0 * (2.0 * m + 1.0))],
        fg=linear_rank1(m))
    add("linear-rank1-zero", n, m, np.ones(n),
        [(m * m + 3.0 * m - 6.0) / (2.0 * (2.0 * m - 3.0))], fg=linear_rank1_zero(m))
    for n in (8, 9):
        add(f"chebyquad:{n}", n, n, h(n), [3.5168737256773e-3] if n == 8 else [0.0],
            rj=chebyquad(n))
    return v


# ---------------------------------------------------------------------------------------
# --check: the numpy instances against descent's Rust ones (the `mgh_serve` example)
# ---------------------------------------------------------------------------------------

def check(probs, root):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent", "--example",
                    "mgh_serve"], cwd=root, check=True)
    serve = os.path.join(target, "release", "examples", "mgh_serve")
    names = subprocess.run([serve, "--list"], capture_output=True, text=True,
                           check=True).stdout.split()
    ours = [p.name for p in instances()]
    if names != ours:
        print(f"instance lists differ:\n  Rust:  {names}\n  numpy: {ours}")
        return 1
    rng = np.random.default_rng(0)
    bad = 0
    for p in probs:
        proc = subprocess.Popen([serve, p.name], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        x0 = np.array([float(t) for t in proc.stdout.readline().split()])
        minima = [float(t) for t in proc.stdout.readline().split()]
        problems = []
        if x0.shape != p.x0.shape or not np.array_equal(x0, p.x0):
            problems.append(f"x0 differs (max |Δ| {np.max(np.abs(x0 - p.x0)):.3g})"
                            if x0.shape == p.x0.shape else "x0 size differs")
        if minima != p.minima:
            problems.append(f"known minima differ: Rust {minima}, numpy {p.minima}")
        points = [p.x0] + [p.x0 + 0.1 * np.maximum(1.0, np.abs(p.x0)) * rng.standard_normal(p.n)
                           for _ in range(3)]
        worst = 0.0
        for x in points:
            proc.stdin.write(" ".join(repr(float(v)) for v in x) + "\n")
            proc.stdin.flush()
            vals = [float(t) for t in proc.stdout.readline().split()]
            f_rust, g_rust = vals[0], np.array(vals[1:])
            f, g = p.fg(x.copy())
            ef = abs(f - f_rust) / max(abs(f_rust), 1e-300)
            eg = np.linalg.norm(g - g_rust) / max(np.linalg.norm(g_rust), 1e-300)
            worst = max(worst, ef, eg)
        proc.stdin.close()
        proc.wait()
        if worst > 1e-10:
            problems.append(f"value/gradient relative difference {worst:.2e}")
        bad += bool(problems)
        print(f"{p.name:26} n={p.n:<5} m={p.m:<5} max rel diff {worst:8.1e}  "
              f"{'; '.join(problems) if problems else 'ok'}")
    print(f"{len(probs) - bad}/{len(probs)} instances agree with descent's Rust definitions")
    return 1 if bad else 0


# ---------------------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------------------

def run(tool, method, options, p, repeats):
    """Best-of-`repeats` wall time, with the CPU time, evaluations, iterations, f at the
    returned x, reached, and the time spent inside the objective, of that run."""
    inside = [0.0]

    def fun(x):
        t = time.perf_counter()
        out = p.fg(x)
        inside[0] += time.perf_counter() - t
        return out

    best = None
    for _ in range(repeats):
        if best is not None and best["time"] > LONG_RUN:
            break
        inside[0] = 0.0
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            t, c = time.perf_counter(), time.process_time()
            try:
                if tool == "descent":
                    res = descent.minimize(fun, p.x0.copy(), jac=True, method=method)
                else:
                    res = scipy.optimize.minimize(fun, p.x0.copy(), jac=True, method=method,
                                                  options=options)
                x, nfev, nit, msg = res.x, int(res.nfev), int(res.nit), str(res.message)
            except (ValueError, OverflowError, FloatingPointError, ArithmeticError) as e:
                x, nfev, nit, msg = None, -1, -1, f"{type(e).__name__}: {e}"
            elapsed, cpu = time.perf_counter() - t, time.process_time() - c
            f = p.fg(np.asarray(x, dtype=float))[0] if x is not None else math.inf
        if not math.isfinite(f):
            f = math.inf
        if best is None or elapsed < best["time"]:
            best = dict(time=elapsed, cpu=cpu, inside=inside[0], nfev=nfev, nit=nit, f=f,
                        reached=p.reached(f), message=msg)
    return best


def configs():
    """(key, tool, method, options): every distinct run, each done once per instance."""
    seen = {}
    for _, ours, theirs in PAIRS:
        seen.setdefault(("descent", ours or "default"), ("descent", ours, None))
        seen.setdefault(("scipy", theirs), ("scipy", theirs, None))
        seen.setdefault(("scipy", theirs + " tight"), ("scipy", theirs, TIGHT[theirs]))
    return [(f"{tool} {name}", *spec) for (tool, name), spec in seen.items()]


def median(v):
    return statistics.median(v) if v else math.nan


def summarize(probs, results):
    names = [p.name for p in probs]
    print()
    for label, ours, theirs in PAIRS:
        d = results[f"descent {ours or 'default'}"]
        rows = [(f"descent {ours or '(default: lbfgs)'}", d),
                (f"SciPy {theirs} (defaults)", results[f"scipy {theirs}"]),
                (f"SciPy {theirs} (tight)", results[f"scipy {theirs} tight"])]
        print(f"== {label}: descent.minimize(method={ours!r}) vs scipy.optimize.minimize"
              f"(method={theirs!r}), {len(names)} instances")
        print(f"  {'run':34} {'reached':>7} {'total s':>8} {'(cpu s)':>8} {'median ms':>9}"
              f" {'med nfev':>8}  {'both':>4} {'med t ratio':>11} {'total ratio':>11}")
        for run_label, r in rows:
            total = sum(r[n]["time"] for n in names)
            line = (f"  {run_label:34} {sum(r[n]['reached'] for n in names):>4}/{len(names)}"
                    f" {total:8.3f} {sum(r[n]['cpu'] for n in names):8.3f}"
                    f" {1e3 * median([r[n]['time'] for n in names]):9.3f}"
                    f" {median([r[n]['nfev'] for n in names]):8g}")
            if r is not d:
                both = [n for n in names if d[n]["reached"] and r[n]["reached"]]
                ratio = median([d[n]["time"] / r[n]["time"] for n in both])
                dtotal = sum(d[n]["time"] for n in names)
                line += f"  {len(both):4} {ratio:11.2f} {dtotal / total:11.2f}"
            print(line)
        print()
    print("  total s: wall time over all instances (cpu s: the same runs' process CPU time);"
          " median ms: over all\n  instances; both: instances descent and SciPy both reach;"
          " med t ratio: median over those of\n  time(descent)/time(SciPy); total ratio: total"
          " time descent / total time SciPy, all instances")


def overhead(results, probs, repeats):
    """Per-call overhead of `minimize` (a 2-variable quadratic, 1000 calls) and per
    evaluation (the time outside the objective in the MGH runs, per evaluation)."""
    a = np.array([1.0, 10.0])

    def quad(x):
        return float(0.5 * (a * x) @ x), a * x

    x0 = np.array([1.0, 1.0])
    print("\n== Overhead")
    for tool, method in (("descent", None), ("descent", "BFGS"), ("scipy", "BFGS"),
                         ("descent", "L-BFGS-B"), ("scipy", "L-BFGS-B")):
        best = math.inf
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(1000):
                if tool == "descent":
                    res = descent.minimize(quad, x0, jac=True, method=method)
                else:
                    res = scipy.optimize.minimize(quad, x0, jac=True, method=method)
            best = min(best, time.perf_counter() - t)
        print(f"  quadratic n=2, 1000 calls: {tool:7} {method or '(default)':9} "
              f"{1e3 * best:8.1f} ms total, {1e6 * best / 1000:6.1f} µs per call "
              f"({res.nfev} evaluations, {res.nit} iterations, f={res.fun:.1e})")
    for key, r in results.items():
        per = [(r[p.name]["time"] - r[p.name]["inside"]) / r[p.name]["nfev"] for p in probs
               if r[p.name]["nfev"] > 0]
        inside = [r[p.name]["inside"] / r[p.name]["nfev"] for p in probs
                  if r[p.name]["nfev"] > 0]
        print(f"  MGH runs, {key:26}: per evaluation, median {1e6 * median(per):6.1f} µs "
              f"outside the objective, {1e6 * median(inside):6.1f} µs inside")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per case (best kept)")
    ap.add_argument("--only", help="comma-separated instance names")
    ap.add_argument("--verbose", action="store_true", help="one line per instance and run")
    ap.add_argument("--json", metavar="FILE", help="write all raw results to FILE")
    ap.add_argument("--check", action="store_true",
                    help="compare the numpy instances with descent's Rust ones (needs cargo)")
    ap.add_argument("--root", default=ROOT, help="the repository, for --check")
    args = ap.parse_args()
    probs = instances()
    if args.only:
        keep = args.only.split(",")
        probs = [p for p in probs if p.name in keep]
    if args.check:
        return check(probs, args.root)
    print(f"descent {descent.__version__}, SciPy {scipy.__version__}, numpy {np.__version__}, "
          f"Python {sys.version.split()[0]}; best of {args.repeats}; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    results = {key: {} for key, *_ in configs()}
    for p in probs:
        for key, tool, method, options in configs():
            results[key][p.name] = run(tool, method, options, p, args.repeats)
        if args.verbose:
            print(f"{p.name} (n={p.n}, f*={p.minima})")
            for key in results:
                r = results[key][p.name]
                print(f"  {key:26} {'ok ' if r['reached'] else 'NO '} f={r['f']:<12.6g} "
                      f"nfev={r['nfev']:<6} nit={r['nit']:<6} {1e3 * r['time']:9.3f} ms")
    summarize(probs, results)
    overhead(results, probs, args.repeats)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(versions=dict(descent=descent.__version__, scipy=scipy.__version__,
                                         numpy=np.__version__, python=sys.version.split()[0]),
                           repeats=args.repeats, tight=TIGHT,
                           pairs=[dict(label=l, descent=o, scipy=t) for l, o, t in PAIRS],
                           instances=[dict(name=p.name, n=p.n, m=p.m, minima=p.minima)
                                      for p in probs],
                           results=results), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
