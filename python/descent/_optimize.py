"""SciPy's ``minimize``, ``least_squares`` and ``curve_fit``, run by descent.

The signatures, argument forms and result fields are SciPy's, so that trying descent is
changing one import. What differs is said where it differs: every descent method is
available by its name (``"lbfgs"``, ``"trust-exact"``, ``"adam"``, …) with its own
defaults (tighter than SciPy's: descent's defaults reach the Moré–Garbow–Hillstrom minima
to 1e-8), and SciPy's names are aliases where the method is the same kind.
"""

import inspect
import json
import warnings

import numpy as np

from . import _descent
from . import _differences

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


#: SciPy's method names and the descent method each one runs (the same kind of method).
SCIPY_METHODS = {
    "l-bfgs-b": "lbfgsb",
    "bfgs": "bfgs",
    "cg": "cg",
    "newton-cg": "newton-cg",
    "trust-ncg": "trust-ncg",
    "trust-exact": "trust-exact",
    "dogleg": "trust-dogleg",
}
#: SciPy's methods that descent does not have (derivative-free or constrained).
SCIPY_ONLY = {"nelder-mead", "powell", "cobyla", "cobyqa", "slsqp", "trust-constr", "tnc",
              "trust-krylov"}
#: Methods whose final state gives SciPy's ``hess_inv``.
HESS_INV = {"bfgs", "dfp", "sr1", "lbfgs", "lbfgsb"}

MINIMIZE_STATUS = {
    "gradient_tolerance": 0,
    "cost_change_tolerance": 0,
    "step_tolerance": 0,
    "target_cost": 0,
    "max_iterations": 1,
    "max_evaluations": 1,
    "time_limit": 1,
    "line_search_failed": 2,
    "not_descent_direction": 2,
    "trust_region_too_small": 2,
    "breakdown": 2,
    "non_finite": 3,
    "observer_stop": 99,
}


def methods():
    """descent's methods: one dict per method (name, aliases, description, applies_to,
    settings with their defaults, reference)."""
    return _descent.methods()


def _method_name(method, bounded):
    if method is None:
        return "lbfgsb" if bounded else "lbfgs"
    if callable(method):
        raise ValueError("a custom method callable is SciPy's; give a descent method name")
    key = str(method).lower()
    if key in SCIPY_METHODS:
        return SCIPY_METHODS[key]
    if key in SCIPY_ONLY:
        raise ValueError(
            f"method {method!r}: descent has no derivative-free or constrained methods; "
            f"SciPy's names it runs: {', '.join(sorted(SCIPY_METHODS))}; its own: "
            f"{', '.join(m['name'] for m in methods() if 'objective' in m['applies_to'])}"
        )
    return str(method)


def _setting_names(name):
    base = name.split(":")[0]
    for m in methods():
        if m["name"] == base or base in m["aliases"]:
            return m["name"], {s for s, _ in m["settings"]}
    return base, set()


def _as_x0(x0):
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    if x0.ndim != 1:
        raise ValueError("'x0' must only have one dimension.")
    return x0.copy()


def _bounds(bounds, n):
    """``(lower, upper)`` arrays from a sequence of pairs, a ``(lb, ub)`` pair of arrays
    or scalars (``least_squares``'s form) or a ``scipy.optimize.Bounds``."""
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = bounds.lb, bounds.ub
    else:
        pairs = list(bounds)
        if len(pairs) == n and all(np.ndim(p) == 1 and len(p) == 2 for p in pairs) and not (
            n == 2 and all(np.ndim(p) == 0 for p in pairs)
        ):
            lb = [-np.inf if p[0] is None else p[0] for p in pairs]
            ub = [np.inf if p[1] is None else p[1] for p in pairs]
        elif len(pairs) == 2:
            lb, ub = pairs
        else:
            raise ValueError(
                f"bounds: {len(pairs)} pairs for {n} variables (give one (min, max) pair "
                "per variable, or (lb, ub))"
            )
    lb = np.broadcast_to(np.asarray(lb, dtype=float), (n,)).astype(float)
    ub = np.broadcast_to(np.asarray(ub, dtype=float), (n,)).astype(float)
    lb = np.where(np.isnan(lb), -np.inf, lb)
    ub = np.where(np.isnan(ub), np.inf, ub)
    if np.all(np.isneginf(lb)) and np.all(np.isposinf(ub)):
        return None
    return lb, ub


def _scalar(v):
    try:
        return float(np.asarray(v).item())
    except (TypeError, ValueError) as e:
        raise ValueError(
            "The user-provided objective function must return a scalar value."
        ) from e


def _stopping_callback(callback, stopped):
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


class _Counter:
    def __init__(self):
        self.nfev = self.njev = self.nhev = 0


def _objective(fun, jac, args, counter, fd, bounds):
    """``(value, value_and_gradient)`` in float64 from SciPy's forms of ``fun``/``jac``."""
    lb, ub = bounds if bounds is not None else (None, None)

    def value(x):
        counter.nfev += 1
        return _scalar(fun(x, *args))

    if jac is True:

        def value_grad(x):
            counter.nfev += 1
            counter.njev += 1
            f, g = fun(x, *args)
            return _scalar(f), np.asarray(g, dtype=float).ravel()

        def value_only(x):
            return value_grad(x)[0]

        return value_only, value_grad
    if callable(jac):

        def value_grad(x):
            f = value(x)
            counter.njev += 1
            return f, np.asarray(jac(x, *args), dtype=float).ravel()

        return value, value_grad
    if jac in (None, False):
        jac = "2-point"
    if jac not in _differences.REL_STEP:
        raise ValueError(f"jac must be callable, True, or one of {list(_differences.REL_STEP)}")
    scheme = jac
    rel_step, abs_step = fd

    def raw(x):
        counter.nfev += 1
        r = fun(x, *args)
        return np.asarray(r).item() if scheme == "cs" else _scalar(r)

    def value_grad(x):
        f = value(x)
        if abs_step is not None:
            rel = np.abs(abs_step) / np.maximum(1.0, np.abs(x))
        else:
            rel = rel_step
        return f, _differences.gradient(raw, x, f, scheme, rel, lb, ub)

    return value, value_grad


_OPTION_MAP = {
    "maxiter": "max_iter",
    "maxfun": "max_evals",
    "maxfev": "max_evals",
    "gtol": "gtol",
    "ftol": "ftol",
    "xtol": "xtol",
}
_SETTING_MAP = {
    "maxcor": "memory",
    "initial_trust_radius": "radius",
    "max_trust_radius": "max_radius",
    "eta": "eta",
}
# Options SciPy's methods take that change nothing here (printing, SciPy's own line
# search and finite-difference internals that descent does its own way).
_IGNORED = {"disp", "iprint", "maxls", "norm", "c1", "c2", "xrtol", "inexact",
            "workers", "adaptive", "mu0", "finite_diff_rel_step", "eps", "return_all"}


def minimize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             constraints=(), tol=None, callback=None, options=None):
    """Minimize ``fun`` from ``x0``: SciPy's ``scipy.optimize.minimize`` run by descent.

    ``method``: any descent method that minimizes objectives (``descent.methods()``; with
    settings as ``"lbfgs:memory=5"``), or SciPy's names of the same kind of method:
    ``"L-BFGS-B"`` (descent's ``lbfgsb``), ``"BFGS"``, ``"CG"``, ``"Newton-CG"``,
    ``"trust-ncg"``, ``"trust-exact"``, ``"dogleg"``. Default: ``lbfgs``, or ``lbfgsb``
    with bounds. ``jac``: a callable, ``True`` (``fun`` returns value and gradient), or
    ``None``/``False``/``"2-point"``/``"3-point"``/``"cs"`` (finite differences with
    SciPy's steps). ``bounds``: pairs ``(min, max)`` (``None`` for none) or a
    ``scipy.optimize.Bounds``; no point outside them is evaluated. ``options``: SciPy's
    (``maxiter``, ``maxfun``, ``gtol``, ``ftol``, ``maxcor``, ``eps``, …) and the method's
    own descent settings (``memory``, ``lr``, ``beta``, …); unknown ones warn.

    Returns an ``OptimizeResult`` with SciPy's fields (``x fun jac nit nfev njev nhev
    status success message``, ``hess_inv`` for BFGS — a matrix — and L-BFGS — a linear
    operator) and descent's ``termination``.
    """
    if constraints:
        raise ValueError("descent's methods take bounds, not general constraints")
    if not isinstance(args, tuple):
        args = (args,)
    x0 = _as_x0(x0)
    n = x0.size
    box = _bounds(bounds, n)
    name = _method_name(method, box is not None)
    base, settings_of_method = _setting_names(name)
    options = dict(options or {})
    run = {}
    settings = []
    return_all = bool(options.get("return_all", False))
    rel_step = options.get("finite_diff_rel_step")
    abs_step = options.get("eps") if "eps" in options else None
    unknown = []
    for key, v in options.items():
        if key in _OPTION_MAP:
            run[_OPTION_MAP[key]] = v
        elif key in _SETTING_MAP and _SETTING_MAP[key] in settings_of_method:
            settings.append((_SETTING_MAP[key], str(v)))
        elif key in settings_of_method:
            settings.append((key, str(v)))
        elif key not in _IGNORED and key not in _SETTING_MAP:
            unknown.append(key)
    if unknown:
        warnings.warn(f"Unknown solver options: {', '.join(unknown)}", OptimizeWarning,
                      stacklevel=2)
    if tol is not None:
        run.setdefault("gtol", tol)
        if base == "lbfgsb":
            run.setdefault("ftol", tol)
        if base == "newton-cg":
            run.setdefault("xtol", tol)
    for k in ("max_iter", "max_evals"):
        if k in run:
            run[k] = max(int(run[k]), 0)

    counter = _Counter()
    value, value_grad = _objective(fun, jac, args, counter, (rel_step, abs_step), box)
    hess_fn = hessp_fn = None
    if callable(hess):

        def hess_fn(x):
            counter.nhev += 1
            return np.atleast_2d(np.asarray(hess(x, *args), dtype=float))

    elif callable(hessp):

        def hessp_fn(x, p):
            counter.nhev += 1
            return np.asarray(hessp(x, p, *args), dtype=float).ravel()

    allvecs = [x0.copy()] if return_all else None
    stopped = []
    user_hook = _stopping_callback(callback, stopped)
    hook = user_hook
    if return_all:

        def hook(x, f, nit):
            allvecs.append(np.copy(x))
            return user_hook(x, f, nit) if user_hook else False

    out = _descent.minimize(
        value, value_grad, x0, name, settings,
        bounds=box, hess=hess_fn, hessp=hessp_fn, callback=hook,
        keep_state=base in HESS_INV, **run,
    )
    status = MINIMIZE_STATUS.get(out["termination"], 2)
    message = out["message"]
    if stopped:
        status, message = 99, "`callback` raised `StopIteration`."
    res = OptimizeResult(
        x=out["x"],
        fun=out["fun"],
        jac=out["jac"],
        nit=out["nit"],
        nfev=counter.nfev,
        njev=counter.njev,
        nhev=counter.nhev,
        status=status,
        success=bool(out["converged"]) and not stopped,
        message=message,
        termination=out["termination"],
        method=out["method"],
    )
    if box is not None:
        res["active_bounds"] = np.asarray(out["active_bounds"], dtype=int)
    if out["x0_moved"]:
        res["x0_moved"] = np.asarray(out["x0_moved"], dtype=int)
    if out["state"] is not None:
        h = _hess_inv(base, json.loads(out["state"]), n)
        if h is not None:
            res["hess_inv"] = h
    if return_all:
        res["allvecs"] = allvecs
    return res


def _find(tree, key):
    """The first value under ``key`` in a JSON tree (the methods' saved states)."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for t in tree:
            v = _find(t, key)
            if v is not None:
                return v
    return None


def _hess_inv(base, state, n):
    """SciPy's ``hess_inv``: BFGS's dense matrix; L-BFGS's pairs as a linear operator."""
    if base in ("bfgs", "dfp", "sr1"):
        h = _find(state, "h")
        if h and h.get("rows") == n:
            return np.asarray(h["data"], dtype=float).reshape(n, n)
        return np.eye(n)
    if base == "lbfgs":
        pairs = _find(state, "pairs") or []
        s = [p[0] for p in pairs]
        y = [p[1] for p in pairs]
    else:
        s, y = _find(state, "s") or [], _find(state, "y") or []
    sk = np.asarray(s, dtype=float).reshape(-1, n)
    yk = np.asarray(y, dtype=float).reshape(-1, n)
    try:
        from scipy.optimize import LbfgsInvHessProduct

        return LbfgsInvHessProduct(sk, yk)
    except ImportError:  # pragma: no cover
        return _TwoLoop(sk, yk)


class _TwoLoop:
    """L-BFGS's inverse Hessian approximation as an operator (when SciPy is absent)."""

    def __init__(self, sk, yk):
        self.sk, self.yk = sk, yk
        self.shape = (sk.shape[1], sk.shape[1]) if sk.size else (0, 0)
        self.dtype = np.dtype(float)

    def matvec(self, v):
        q = np.array(v, dtype=float)
        rho = [1.0 / np.dot(y, s) for s, y in zip(self.sk, self.yk)]
        a = []
        for s, y, r in reversed(list(zip(self.sk, self.yk, rho))):
            a.append(r * np.dot(s, q))
            q -= a[-1] * y
        if len(self.sk):
            q *= np.dot(self.sk[-1], self.yk[-1]) / np.dot(self.yk[-1], self.yk[-1])
        for (s, y, r), ai in zip(zip(self.sk, self.yk, rho), reversed(a)):
            b = r * np.dot(y, q)
            q += s * (ai - b)
        return q

    def dot(self, v):
        return self.matvec(v)

    def todense(self):
        return np.column_stack([self.matvec(e) for e in np.eye(self.shape[0])])


# ---------------------------------------------------------------------------------------
# least_squares

LSQ_METHODS = {"trf": "trf", "dogbox": "trf", "lm": "lm"}
LSQ_STATUS = {
    "gradient_tolerance": 1,
    "cost_change_tolerance": 2,
    "step_tolerance": 3,
    "max_evaluations": 0,
    "max_iterations": 0,
    "time_limit": 0,
    "observer_stop": -2,
}
LSQ_MESSAGES = {
    -2: "The callback stopped the fit.",
    -1: "The method failed: " ,
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
}


class _Recent:
    """The last few evaluations, so that the result's residuals and Jacobian at the
    solution need no new call when the method evaluated there."""

    def __init__(self, size=4):
        self.size, self.items = size, []

    def get(self, x):
        key = x.tobytes()
        for k, v in self.items:
            if k == key:
                return v
        return None

    def put(self, x, v):
        self.items.append((x.tobytes(), v))
        del self.items[: -self.size]


def least_squares(fun, x0, jac="2-point", bounds=(-np.inf, np.inf), method="trf",
                  ftol=1e-8, xtol=1e-8, gtol=1e-8, x_scale=None, loss="linear",
                  f_scale=1.0, diff_step=None, tr_solver=None, tr_options=None,
                  jac_sparsity=None, max_nfev=None, verbose=0, args=(), kwargs=None,
                  callback=None, workers=None):
    """Solve a nonlinear least-squares problem with bounds: SciPy's
    ``scipy.optimize.least_squares`` run by descent.

    ``method``: ``"trf"`` (descent's trust-region reflective, the default), ``"lm"``
    (descent's Levenberg–Marquardt, which here also takes bounds), ``"dogbox"`` (runs
    ``trf``, the same kind), or any descent least-squares method (``"gn"``, ``"br"``,
    ``"lm:geodesic=false"``). ``loss``: ``linear soft_l1 huber cauchy arctan`` (SciPy's),
    ``tolerant tukey`` (descent's) or a callable ``rho(z) -> (3, m)`` as SciPy's.
    ``x_scale``: an array rescales the variables (``x = x_scale * y``); ``"jac"`` is the
    methods' own Jacobian scaling (always on).

    Returns an ``OptimizeResult`` with SciPy's fields (``x cost fun jac grad optimality
    active_mask nfev njev status message success``) and descent's ``termination``.
    """
    kwargs = kwargs or {}
    if not isinstance(args, tuple):
        args = (args,)
    x0 = np.atleast_1d(np.asarray(x0, dtype=float)).copy()
    if x0.ndim > 1:
        raise ValueError("`x0` must have at most 1 dimension.")
    if not np.all(np.isfinite(x0)):
        raise ValueError("`x0` must be finite.")
    n = x0.size
    lb, ub = _bounds(bounds, n) or (np.full(n, -np.inf), np.full(n, np.inf))
    if np.any(lb >= ub):
        raise ValueError("Each lower bound must be strictly less than each upper bound.")
    if np.any((x0 < lb) | (x0 > ub)):
        raise ValueError("`x0` is infeasible.")
    bounded = np.any(np.isfinite(lb)) or np.any(np.isfinite(ub))
    name = LSQ_METHODS.get(str(method).lower(), str(method))
    for t, v in (("ftol", ftol), ("xtol", xtol), ("gtol", gtol)):
        if v is None:
            v = 0.0
        if v < 0:
            raise ValueError(f"`{t}` must be non-negative")
    ftol, xtol, gtol = (0.0 if v is None else float(v) for v in (ftol, xtol, gtol))
    if ftol < np.finfo(float).eps and xtol < np.finfo(float).eps and gtol < np.finfo(float).eps:
        raise ValueError(
            f"At least one of the tolerances must be higher than machine epsilon "
            f"({np.finfo(float).eps:.2e})."
        )

    # Variables scaled by x_scale: the methods see y = x / x_scale.
    scale = None
    if x_scale is not None and not (isinstance(x_scale, str) and x_scale == "jac"):
        scale = np.broadcast_to(np.asarray(x_scale, dtype=float), (n,)).copy()
        if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
            raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")

    counter = _Counter()
    recent_r, recent_j = _Recent(), _Recent()

    def residuals(x):
        hit = recent_r.get(x)
        if hit is not None:
            return hit
        counter.nfev += 1
        r = np.atleast_1d(np.asarray(fun(x, *args, **kwargs), dtype=float))
        if r.ndim > 1:
            raise ValueError("`fun` must return at most 1-d array_like.")
        recent_r.put(x.copy(), r)
        return r

    def raw(x):  # finite differences may step in complex numbers; not counted in
        # nfev, as SciPy's trf does not count them
        return np.atleast_1d(fun(x, *args, **kwargs))

    if callable(jac):

        def jacobian(x):
            hit = recent_j.get(x)
            if hit is not None:
                return hit
            counter.njev += 1
            J = np.atleast_2d(np.asarray(jac(x, *args, **kwargs), dtype=float))
            recent_j.put(x.copy(), J)
            return J

    elif jac in _differences.REL_STEP:

        def jacobian(x):
            hit = recent_j.get(x)
            if hit is not None:
                return hit
            counter.njev += 1
            J = _differences.jacobian(raw, x, residuals(x), jac, diff_step, lb, ub)
            recent_j.put(x.copy(), J)
            return J

    else:
        raise ValueError("`jac` must be '2-point', '3-point', 'cs' or callable.")

    f0 = residuals(x0)
    m = f0.size
    if not np.all(np.isfinite(f0)):
        raise ValueError("Residuals are not finite in the initial point.")

    # A callable loss: SciPy's rho(z) with z = (f/C)², as square-root residuals.
    loss_name = loss
    if callable(loss):
        rho_fn, C = loss, float(f_scale)
        loss_name = "linear"

        def rho_of(r):
            rho = np.asarray(rho_fn((r / C) ** 2), dtype=float)
            if rho.shape != (3, r.size):
                raise ValueError("The return value of `loss` callable has wrong shape.")
            return rho

        def fit_residuals(x):
            r = residuals(x)
            return np.sign(r) * C * np.sqrt(np.maximum(rho_of(r)[0], 0.0))

        def fit_jacobian(x):
            r = residuals(x)
            rho = rho_of(r)
            z = (r / C) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.sqrt(np.maximum(rho[0], 0.0) / z)
                factor = np.where((z == 0) | (rho[0] <= 0), np.sqrt(rho[1]), rho[1] / ratio)
            return jacobian(x) * factor[:, None]

    elif loss_name in ("linear", "soft_l1", "huber", "cauchy", "arctan", "tolerant", "tukey"):
        fit_residuals, fit_jacobian = residuals, jacobian
    else:
        raise ValueError(f"`loss` must be one of linear, soft_l1, huber, cauchy, arctan, "
                         f"tolerant, tukey or a callable; got {loss!r}")

    r_fn, j_fn = fit_residuals, fit_jacobian
    run_lb, run_ub, start = lb, ub, x0
    if scale is not None:
        r_fn = lambda y: fit_residuals(y * scale)  # noqa: E731
        j_fn = lambda y: fit_jacobian(y * scale) * scale  # noqa: E731
        run_lb, run_ub, start = lb / scale, ub / scale, x0 / scale

    stopped = []
    hook = _stopping_callback(callback, stopped)
    if hook is not None and scale is not None:
        inner = hook
        hook = lambda y, f, nit: inner(y * scale, f, nit)  # noqa: E731
    out = _descent.least_squares(
        r_fn, j_fn, start, m, name,
        bounds=(run_lb, run_ub) if bounded else None,
        loss=loss_name, f_scale=float(f_scale), ftol=ftol, xtol=xtol, gtol=gtol,
        max_nfev=None if max_nfev is None else int(max_nfev), callback=hook,
    )
    x = out["x"] * scale if scale is not None else out["x"]
    # What SciPy reports at the solution: the residuals, the (loss-scaled) Jacobian, the
    # cost's gradient and the first-order optimality (scaled by the distance to a bound).
    r = residuals(x)
    J = jacobian(x)
    if callable(loss):
        rho1 = rho_of(r)[1]
    else:
        rho1 = _rho(loss_name, (r / float(f_scale)) ** 2)[1]
    grad = J.T @ (rho1 * r)
    if callable(loss) or loss_name != "linear":
        J = J * np.sqrt(np.maximum(rho1, 0.0))[:, None]
    if bounded:
        v = np.ones(n)
        v = np.where((grad < 0) & np.isfinite(ub), ub - x, v)
        v = np.where((grad > 0) & np.isfinite(lb), x - lb, v)
        optimality = float(np.max(np.abs(grad * v), initial=0.0))
    else:
        optimality = float(np.max(np.abs(grad), initial=0.0))
    active = np.zeros(n, dtype=int)
    atol = xtol * np.maximum(1.0, np.abs(x))
    active[np.isfinite(lb) & (x - lb <= atol)] = -1
    active[np.isfinite(ub) & (ub - x <= atol)] = 1
    status = LSQ_STATUS.get(out["termination"], -1)
    message = LSQ_MESSAGES[status] if status != -1 else out["message"]
    return OptimizeResult(
        x=x,
        cost=out["cost"],
        fun=r,
        jac=J,
        grad=grad,
        optimality=optimality,
        active_mask=active,
        nfev=counter.nfev,
        njev=counter.njev,
        status=status,
        message=message,
        success=status > 0,
        termination=out["termination"],
        method=out["method"],
        nit=out["nit"],
    )


# SciPy's rho(z) and rho'(z) of its named losses (Triggs et al. 2000, as SciPy defines
# them), for the reported Jacobian and gradient; the fit itself runs descent's losses.
def _rho(name, z):
    if name == "soft_l1":
        t = 1 + z
        return 2 * (t**0.5 - 1), t**-0.5
    if name == "huber":
        mask = z <= 1
        rho = np.where(mask, z, 2 * np.sqrt(np.maximum(z, 1e-300)) - 1)
        d = np.where(mask, 1.0, np.maximum(z, 1e-300) ** -0.5)
        return rho, d
    if name == "cauchy":
        return np.log1p(z), 1 / (1 + z)
    if name == "arctan":
        return np.arctan(z), 1 / (1 + z**2)
    if name == "tolerant":
        return np.log1p(np.exp(z - 1)) - np.log1p(np.exp(-1.0)), 1 / (1 + np.exp(1 - z))
    if name == "tukey":
        mask = z <= 1
        return np.where(mask, (1 - (1 - z) ** 3) / 3, 1 / 3), np.where(mask, (1 - z) ** 2, 0.0)
    return z, np.ones_like(z)


# ---------------------------------------------------------------------------------------
# curve_fit


def curve_fit(f, xdata, ydata, p0=None, sigma=None, absolute_sigma=False,
              check_finite=None, bounds=(-np.inf, np.inf), method=None, jac=None, *,
              full_output=False, nan_policy=None, **kwargs):
    """Fit ``f(xdata, *params)`` to ``ydata``: SciPy's ``scipy.optimize.curve_fit`` run by
    descent (Levenberg–Marquardt, or trust-region reflective with bounds; any descent
    least-squares method by name). Returns ``popt, pcov`` (and with ``full_output``,
    ``infodict, mesg, ier``); ``pcov`` is ``s²(JᵀJ)⁻¹`` (``(JᵀJ)⁻¹`` with
    ``absolute_sigma``), infinite where it cannot be estimated, as SciPy's.
    """
    if p0 is None:
        try:
            params = list(inspect.signature(f).parameters)
        except (TypeError, ValueError) as e:
            raise ValueError("Unable to determine number of fit parameters.") from e
        if len(params) < 2:
            raise ValueError("Unable to determine number of fit parameters.")
        p0 = np.ones(len(params) - 1)
    p0 = np.atleast_1d(np.asarray(p0, dtype=float))
    n = p0.size
    lb, ub = _bounds(bounds, n) or (np.full(n, -np.inf), np.full(n, np.inf))
    bounded = np.any(np.isfinite(lb)) or np.any(np.isfinite(ub))
    if bounded and np.any((p0 < lb) | (p0 > ub)):
        # SciPy starts from a feasible point; so does descent (moved onto the box).
        p0 = np.clip(p0, lb, ub)
    if method is None:
        method = "trf" if bounded else "lm"
    if check_finite is None:
        check_finite = nan_policy is None
    ydata = np.asarray(ydata, dtype=float) if check_finite else np.asarray(ydata)
    if isinstance(xdata, (list, tuple, np.ndarray)):
        xdata = np.asarray(xdata, dtype=float) if check_finite else np.asarray(xdata)
    if ydata.size == 0:
        raise ValueError("`ydata` must not be empty!")
    if check_finite and (not np.all(np.isfinite(ydata)) or
                         (isinstance(xdata, np.ndarray) and not np.all(np.isfinite(xdata)))):
        raise ValueError("array must not contain infs or NaNs")
    if nan_policy == "omit":
        keep = ~np.isnan(ydata)
        if isinstance(xdata, np.ndarray):
            keep &= ~np.isnan(xdata).reshape(-1, keep.size).any(axis=0) if xdata.ndim > 1 \
                else ~np.isnan(xdata)
            xdata = xdata[..., keep]
        ydata = ydata[keep]
        if sigma is not None and np.ndim(sigma) == 1:
            sigma = np.asarray(sigma)[keep]
    elif nan_policy == "raise" and (np.isnan(ydata).any()):
        raise ValueError("The input contains nan values")

    y = ydata.ravel()
    # Weights: 1-D sigma divides the residuals; 2-D is a covariance (its Cholesky factor).
    if sigma is None:
        def transform(v):
            return v
    else:
        sigma = np.asarray(sigma, dtype=float)
        if sigma.ndim == 1 or sigma.shape == ():
            w = 1.0 / np.broadcast_to(sigma, y.shape)

            def transform(v):
                return v * w if v.ndim == 1 else v * w[:, None]

        elif sigma.shape == (y.size, y.size):
            try:
                L = np.linalg.cholesky(sigma)
            except np.linalg.LinAlgError as e:
                raise ValueError("`sigma` must be positive definite.") from e

            def transform(v):
                return np.linalg.solve(L, v)

        else:
            raise ValueError("`sigma` has incorrect shape.")

    def residual(p):
        return transform(np.asarray(f(xdata, *p), dtype=float).ravel() - y)

    jac_arg = "2-point"
    if callable(jac):
        def jac_arg(p):
            return transform(np.atleast_2d(np.asarray(jac(xdata, *p), dtype=float)))
    elif isinstance(jac, str):
        jac_arg = jac
    for k in ("maxfev", "max_nfev"):
        if k in kwargs:
            kwargs["max_nfev"] = kwargs.pop(k)
    if "epsfcn" in kwargs:
        kwargs["diff_step"] = np.sqrt(kwargs.pop("epsfcn"))
    for k in ("ftol", "xtol", "gtol"):
        kwargs.setdefault(k, 1.49012e-08 if method == "lm" else 1e-8)
    kwargs.pop("full_output", None)
    res = least_squares(residual, p0, jac=jac_arg, bounds=(lb, ub), method=method, **kwargs)
    if not res.success:
        raise RuntimeError("Optimal parameters not found: " + res.message)
    popt = res.x
    rss = 2 * res.cost
    cov = _descent.covariance(np.ascontiguousarray(res.jac, dtype=float), rss,
                              bool(absolute_sigma))
    warn_cov = False
    if cov is None:
        pcov = np.full((n, n), np.inf)
        warn_cov = True
    else:
        pcov = np.asarray(cov)
    if warn_cov:
        warnings.warn("Covariance of the parameters could not be estimated",
                      OptimizeWarning, stacklevel=2)
    if full_output:
        infodict = {"nfev": res.nfev, "fvec": res.fun}
        if res.jac is not None:
            infodict["fjac"] = res.jac
        return popt, pcov, infodict, res.message, res.status
    return popt, pcov
