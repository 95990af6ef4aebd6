"""Finite-difference derivatives with SciPy's steps (``approx_derivative``'s rules):
``h = rel_step * sign(x) * max(1, |x|)`` with ``rel_step`` √ε (2-point, complex step)
or ∛ε (3-point), turned around (or made one-sided) where a bound is closer than h."""

import numpy as np

EPS = np.finfo(float).eps
REL_STEP = {"2-point": EPS**0.5, "3-point": EPS ** (1 / 3), "cs": EPS**0.5}


def _steps(x, scheme, rel_step, lb, ub):
    rel = REL_STEP[scheme] if rel_step is None else np.broadcast_to(rel_step, x.shape)
    # A zero step (``eps=0``, ``diff_step=0``) takes the scheme's own, as SciPy's does.
    rel = np.where(np.asarray(rel) == 0, REL_STEP[scheme], rel)
    sign = np.where(x >= 0, 1.0, -1.0)
    h = rel * sign * np.maximum(1.0, np.abs(x))
    # Round so that x + h is exactly representable (SciPy does the same).
    h = (x + h) - x
    h = np.where(h == 0, rel * sign, h)
    one_sided = np.zeros(x.shape, dtype=bool)
    if lb is not None:
        if scheme == "2-point":
            fits = (x + h <= ub) & (x + h >= lb)
            h = np.where(fits, h, -h)
        elif scheme == "3-point":
            fwd_room, back_room = ub - x, x - lb
            central = (np.abs(h) <= fwd_room) & (np.abs(h) <= back_room)
            one_sided = ~central
            h = np.abs(h)
            h = np.where(central | (fwd_room >= 2 * h), h, -h)
    return h, one_sided


def gradient(fun, x, f0, scheme="2-point", rel_step=None, lb=None, ub=None):
    """∇f(x) by finite differences of the scalar ``fun`` (``f0 = fun(x)``)."""
    x = np.asarray(x, dtype=float)
    if scheme == "cs":
        h = _steps(x, "cs", rel_step, None, None)[0]
        g = np.empty_like(x)
        for i in range(x.size):
            xc = x.astype(complex)
            xc[i] += 1j * h[i]
            g[i] = np.imag(fun(xc)) / h[i]
        return g
    h, one_sided = _steps(x, scheme, rel_step, lb, ub)
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        if scheme == "2-point":
            g[i] = (fun(x + e) - f0) / h[i]
        elif one_sided[i]:
            g[i] = (-3.0 * f0 + 4.0 * fun(x + e) - fun(x + 2 * e)) / (2 * h[i])
        else:
            g[i] = (fun(x + e) - fun(x - e)) / (2 * h[i])
    return g


def jacobian(fun, x, f0, scheme="2-point", rel_step=None, lb=None, ub=None):
    """J(x) (m×n) by finite differences of the vector ``fun`` (``f0 = fun(x)``)."""
    x = np.asarray(x, dtype=float)
    f0 = np.atleast_1d(f0)
    J = np.empty((f0.size, x.size))
    if scheme == "cs":
        h = _steps(x, "cs", rel_step, None, None)[0]
        for i in range(x.size):
            xc = x.astype(complex)
            xc[i] += 1j * h[i]
            J[:, i] = np.imag(np.atleast_1d(fun(xc))) / h[i]
        return J
    h, one_sided = _steps(x, scheme, rel_step, lb, ub)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        if scheme == "2-point":
            J[:, i] = (np.atleast_1d(fun(x + e)) - f0) / h[i]
        elif one_sided[i]:
            J[:, i] = (
                -3.0 * f0 + 4.0 * np.atleast_1d(fun(x + e)) - np.atleast_1d(fun(x + 2 * e))
            ) / (2 * h[i])
        else:
            J[:, i] = (np.atleast_1d(fun(x + e)) - np.atleast_1d(fun(x - e))) / (2 * h[i])
    return J
