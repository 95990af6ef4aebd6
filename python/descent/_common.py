"""What the SciPy-style functions share: result and warning types, argument forms,
callbacks, counters."""

import functools
import inspect

import numpy as np

from . import _descent

try:  # SciPy's result and warning types when SciPy is there, look-alikes otherwise.
    from scipy.optimize import OptimizeResult, OptimizeWarning
except ImportError:  # pragma: no cover - exercised without SciPy

    class OptimizeResult(dict):
        """A dict whose keys are also attributes (as SciPy's)."""

        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError as e:
                raise AttributeError(name) from e

        __setattr__ = dict.__setitem__
        __delattr__ = dict.__delitem__

        def __dir__(self):
            return list(self.keys())

    class OptimizeWarning(UserWarning):
        pass


def methods():
    """descent's methods: one dict per method (name, aliases, description, applies_to,
    settings with their defaults, reference)."""
    return [dict(m) for m in _registry()]


@functools.lru_cache(maxsize=1)
def _registry():
    # The registry is fixed at build time: read it once, not on every call.
    return tuple(_descent.methods())


def method_info(name):
    """The registry entry of a method name or alias (``None`` if there is none)."""
    base = name.split(":")[0]
    for m in _registry():
        if m["name"] == base or base in m["aliases"]:
            return m
    return None


def as_x0(x0, name="x0"):
    """``x0`` as a fresh 1-D float64 array (SciPy's rules: real, one dimension)."""
    x0 = np.atleast_1d(np.asarray(x0))
    if np.iscomplexobj(x0):
        raise ValueError(f"`{name}` must be real.")
    x0 = x0.astype(float)
    if x0.ndim != 1:
        raise ValueError(f"'{name}' must only have one dimension.")
    return x0.copy()


def pairs_bounds(bounds, n):
    """``minimize``'s bounds: a sequence of ``(min, max)`` pairs (``None`` for none) or a
    ``scipy.optimize.Bounds``, as ``(lower, upper)`` arrays; ``None`` when unbounded."""
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = bounds.lb, bounds.ub
    else:
        pairs = list(bounds)
        if len(pairs) != n:
            raise ValueError("The number of bounds is not compatible with the length of `x0`.")
        try:
            lb = [-np.inf if p[0] is None else p[0] for p in pairs]
            ub = [np.inf if p[1] is None else p[1] for p in pairs]
        except (TypeError, IndexError) as e:
            raise ValueError("bounds must be (min, max) pairs, one per variable") from e
    return _checked(lb, ub, n)


def lb_ub_bounds(bounds, n):
    """``least_squares``' and ``curve_fit``'s bounds: ``(lb, ub)`` (each a scalar or one
    value per variable) or a ``scipy.optimize.Bounds``, as ``(lower, upper)`` arrays."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = bounds.lb, bounds.ub
    else:
        if len(bounds) != 2:
            raise ValueError("`bounds` must contain 2 elements.")
        lb, ub = bounds
    lb, ub = np.asarray(lb, dtype=float), np.asarray(ub, dtype=float)
    if lb.shape not in ((), (n,)) or ub.shape not in ((), (n,)):
        raise ValueError("Inconsistent shapes between bounds and `x0`.")
    return _checked(lb, ub, n) or (np.full(n, -np.inf), np.full(n, np.inf))


def _checked(lb, ub, n):
    try:
        lb = np.broadcast_to(np.asarray(lb, dtype=float), (n,)).astype(float)
        ub = np.broadcast_to(np.asarray(ub, dtype=float), (n,)).astype(float)
    except ValueError as e:
        raise ValueError("The number of bounds is not compatible with the length of `x0`.") \
            from e
    lb = np.where(np.isnan(lb), -np.inf, lb)
    ub = np.where(np.isnan(ub), np.inf, ub)
    if np.any(ub < lb):
        raise ValueError("An upper bound is less than the corresponding lower bound.")
    if np.any((lb == ub) & np.isinf(lb)):
        # (It fixed the variable at ±inf, where the objective was then called.)
        raise ValueError("A variable is bounded to an infinite value (lower and upper "
                         "bound both inf or both -inf).")
    if np.all(np.isneginf(lb)) and np.all(np.isposinf(ub)):
        return None
    return lb, ub


def scalar(v):
    """A float from what the objective returned (SciPy: a scalar or a 1-element array)."""
    try:
        return float(np.asarray(v).item())
    except (TypeError, ValueError) as e:
        raise ValueError(
            "The user-provided objective function must return a scalar value."
        ) from e


def dense(a):
    """A float64 ndarray from an array, a sparse matrix or a ``LinearOperator``."""
    if hasattr(a, "toarray"):
        return np.asarray(a.toarray(), dtype=float)
    if hasattr(a, "matmat") and hasattr(a, "shape"):
        return np.asarray(a.matmat(np.eye(a.shape[1])), dtype=float)
    return np.asarray(a, dtype=float)


def stopping_callback(callback, stopped):
    """The driver's per-iteration hook from SciPy's two callback forms:
    ``callback(xk)`` or ``callback(intermediate_result)``; ``StopIteration`` stops."""
    if callback is None:
        return None
    try:
        params = list(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        params = []
    new_style = params == ["intermediate_result"]

    def hook(x, f, nit):
        try:
            if new_style:
                callback(intermediate_result=OptimizeResult(x=x, fun=f, nit=nit))
            else:
                callback(np.copy(x))
        except StopIteration:
            stopped.append(True)
            return True
        return False

    return hook


class Counter:
    """Calls of the user's functions, in SciPy's meaning."""

    def __init__(self):
        self.nfev = self.njev = self.nhev = 0
        #: The last value of f the user's function returned (NaN before the first).
        self.last_f = float("nan")
