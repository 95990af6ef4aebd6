"""SciPy's ``minimize``, run by descent's methods.

SciPy's arguments and result; every descent method by its name and SciPy's names where
the method is the same kind. Where SciPy's interface defines a behaviour (messages, status
codes, fixed variables, a NaN start), descent's follows it; where descent's methods do
more (bounds for step rules, every registry method), the extra is there too.
"""

import warnings

import numpy as np

from . import _descent, _differences
from ._common import (Counter, OptimizeResult, OptimizeWarning, as_x0, dense, method_info,
                      methods, pairs_bounds, scalar, stopping_callback)

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
TRUST_REGION = {"trust-ncg", "trust-exact", "trust-dogleg"}

#: SciPy's status codes: 0 converged, 1 a budget ran out, 2 the method could not go on
#: (line search, precision), 3 a NaN, 99 the callback stopped the run.
STATUS = {
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
#: SciPy's messages for the same outcomes (L-BFGS-B speaks its Fortran's words).
MESSAGES = {
    "gradient_tolerance": "Optimization terminated successfully.",
    "cost_change_tolerance": "Optimization terminated successfully.",
    "step_tolerance": "Optimization terminated successfully.",
    "max_iterations": "Maximum number of iterations has been exceeded.",
    "max_evaluations": "Maximum number of function evaluations has been exceeded.",
    "line_search_failed": "Desired error not necessarily achieved due to precision loss.",
    "not_descent_direction": "Desired error not necessarily achieved due to precision loss.",
    "breakdown": "Desired error not necessarily achieved due to precision loss.",
    "trust_region_too_small": "A bad approximation caused failure to predict improvement.",
    "non_finite": "NaN result encountered.",
}
LBFGSB_MESSAGES = {
    "gradient_tolerance": "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
    "cost_change_tolerance": "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    "max_iterations": "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
    "max_evaluations": "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    "line_search_failed": "ABNORMAL: ",
}
#: SciPy's default gradient tolerance for BFGS, CG and L-BFGS-B (`gtol`, `pgtol`): used
#: when the gradient is a finite difference, whose error (~1e-8 relative) is far above
#: descent's own defaults.
FD_GTOL = 1e-5
#: And L-BFGS-B's `ftol` (factr = 1e7 times ε): a finite-difference gradient's noise stops
#: the line search before a projected gradient of 1e-5 is reached.
FD_FTOL_LBFGSB = 1e7 * np.finfo(float).eps


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
    info = method_info(name)
    if info is None:
        return name.split(":")[0], set()
    return info["name"], {s for s, _ in info["settings"]}



def _objective(fun, jac, args, counter, fd, bounds):
    """``(value, value_and_gradient)`` in float64 from SciPy's forms of ``fun``/``jac``.
    Each user call gets its own copy of the point (as SciPy's): a ``fun`` that writes into
    its argument must not move the point its gradient, or a difference, is taken at."""
    lb, ub = bounds if bounds is not None else (None, None)

    def value(x):
        counter.nfev += 1
        counter.last_f = scalar(fun(x.copy(), *args))
        return counter.last_f

    if jac is True:

        def value_grad(x):
            counter.nfev += 1
            counter.njev += 1
            f, g = fun(x.copy(), *args)
            counter.last_f = scalar(f)
            return counter.last_f, np.asarray(g, dtype=float).ravel()

        def value_only(x):
            return value_grad(x)[0]

        return value_only, value_grad
    if callable(jac):

        def value_grad(x):
            f = value(x)
            counter.njev += 1
            return f, np.asarray(jac(x.copy(), *args), dtype=float).ravel()

        return value, value_grad
    if jac is None or jac is False:
        jac = "2-point"
    if jac not in _differences.REL_STEP:
        raise ValueError(f"jac must be callable, True, or one of {list(_differences.REL_STEP)}")
    scheme = jac
    rel_step, abs_step = fd

    def raw(x):
        counter.nfev += 1
        r = fun(x.copy(), *args)
        return np.asarray(r).item() if scheme == "cs" else scalar(r)

    def value_grad(x):
        f = value(x)
        if abs_step is not None:
            rel = np.abs(abs_step) / np.maximum(1.0, np.abs(x))
        else:
            rel = rel_step
        counter.njev += 1
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
#: SciPy options that descent checks (as SciPy does) but whose effect its methods do not
#: offer: the line search's constants and trial budget, BFGS's starting matrix.
_NOT_TAKEN = ("c1", "c2", "maxls", "hess_inv0")
_SETTING_MAP = {
    "maxcor": "memory",
    "initial_trust_radius": "radius",
    "max_trust_radius": "max_radius",
    "eta": "eta",
}
# Options SciPy's methods take that change nothing here (printing, SciPy's own line
# search and finite-difference internals that descent does its own way).
_IGNORED = {"disp", "iprint", "norm", "xrtol", "inexact",
            "workers", "adaptive", "mu0", "finite_diff_rel_step", "eps", "return_all"}



def _check_options(options, n):
    """SciPy's checks of options it validates."""
    c1, c2 = options.get("c1", 1e-4), options.get("c2", 0.9)
    if ("c1" in options or "c2" in options) and not 0 < c1 < c2 < 1:
        raise ValueError("'c1' and 'c2' do not satisfy'0 < c1 < c2 < 1'.")
    h0 = options.get("hess_inv0")
    if h0 is not None:
        h0 = np.asarray(h0, dtype=float)
        if h0.shape != (n, n):
            raise ValueError(f"'hess_inv0' must have shape ({n}, {n}), got {h0.shape}")
        try:
            np.linalg.cholesky(h0)
        except np.linalg.LinAlgError as e:
            raise ValueError("'hess_inv0' matrix isn't positive definite.") from e


def _without_fixed(fun, x0, args, jac, hess, hessp, box, callback, call):
    """SciPy's treatment of variables fixed by ``lb == ub``: the methods see only the free
    ones; the result reports ``jac`` as NaN at the fixed ones."""
    lb, ub = box
    fixed = lb == ub
    free = ~fixed
    full = np.where(fixed, lb, x0)

    def expand(xf):
        x = full.copy()
        x[free] = xf
        return x

    counter_fun = {"n": 0}

    def f_free(xf, *a):
        counter_fun["n"] += 1
        out = fun(expand(xf), *a)
        if jac is True:
            v, g = out
            return v, np.asarray(g, dtype=float).ravel()[free]
        return out

    if not np.any(free):
        f = fun(full, *args)
        f = f[0] if jac is True else f
        return OptimizeResult(
            x=full, fun=scalar(f), jac=np.full(x0.size, np.nan), nit=0, nfev=1, njev=0,
            nhev=0, status=0, success=True, termination="fixed",
            message="All independent variables were fixed by bounds.")
    jac_f = jac
    if callable(jac):
        def jac_f(xf, *a):
            return np.asarray(jac(expand(xf), *a), dtype=float).ravel()[free]
    hess_f = hess
    if callable(hess):
        def hess_f(xf, *a):
            return dense(hess(expand(xf), *a))[np.ix_(free, free)]
    hessp_f = hessp
    if callable(hessp):
        def hessp_f(xf, p, *a):
            pf = np.zeros(x0.size)
            pf[free] = p
            return np.asarray(hessp(expand(xf), pf, *a), dtype=float).ravel()[free]
    cb = callback
    if callback is not None:
        try:
            import inspect

            new_style = list(inspect.signature(callback).parameters) == ["intermediate_result"]
        except (TypeError, ValueError):
            new_style = False
        if new_style:
            def cb(intermediate_result):
                intermediate_result["x"] = expand(intermediate_result["x"])
                return callback(intermediate_result=intermediate_result)
        else:
            def cb(xk):
                return callback(expand(xk))
    res = call(f_free, x0[free], jac_f, hess_f, hessp_f, (lb[free], ub[free]), cb)
    res["x"] = expand(res["x"])
    g = np.full(x0.size, np.nan)
    g[free] = res["jac"]
    res["jac"] = g
    res.pop("hess_inv", None)
    return res


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
    ``scipy.optimize.Bounds``; no point outside them is evaluated; variables with equal
    bounds are fixed. ``options``: SciPy's (``maxiter``, ``maxfun``, ``gtol``, ``ftol``,
    ``maxcor``, ``eps``, ``disp``, …) and the method's own descent settings (``memory``,
    ``lr``, ``beta``, …); unknown ones warn. Tolerances are descent's (tighter than
    SciPy's) unless given, or SciPy's ``gtol`` 1e-5 with finite-difference gradients.

    Returns an ``OptimizeResult`` with SciPy's fields (``x fun jac nit nfev njev nhev
    status success message``, ``hess_inv`` for BFGS — a matrix — and L-BFGS — a linear
    operator) and descent's ``termination``. A start where ``fun`` is not finite gives a
    result with ``success`` False (as SciPy), not an exception; an exception raised by
    ``fun`` reaches the caller.
    """
    if constraints:
        raise ValueError("descent's methods take bounds, not general constraints")
    if not isinstance(args, tuple):
        args = (args,)
    x0 = as_x0(x0)
    n = x0.size
    box = pairs_bounds(bounds, n)
    options = dict(options or {})
    _check_options(options, n)
    if box is not None and np.any(box[0] == box[1]):
        def call(f, x, j, h, hp, b, cb):
            return minimize(f, x, args, method, j, h, hp, list(zip(*b)), constraints, tol,
                            cb, options)
        return _without_fixed(fun, x0, args, jac, hess, hessp, box, callback, call)
    name = _method_name(method, box is not None)
    base, settings_of_method = _setting_names(name)
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
        elif key not in _IGNORED and key not in _SETTING_MAP and key not in _NOT_TAKEN:
            unknown.append(key)
    if unknown:
        warnings.warn(f"Unknown solver options: {', '.join(unknown)}", OptimizeWarning,
                      stacklevel=2)
    unused = [k for k in _NOT_TAKEN if k in options]
    if unused:
        warnings.warn(f"Options not taken by descent's methods (their line searches and "
                      f"start are their own): {', '.join(unused)}; ignored",
                      OptimizeWarning, stacklevel=2)
    if tol is not None:
        run.setdefault("gtol", tol)
        if base == "lbfgsb":
            run.setdefault("ftol", tol)
        if base == "newton-cg":
            run.setdefault("xtol", tol)
    finite_differences = not (jac is True or callable(jac))
    if finite_differences:
        run.setdefault("gtol", FD_GTOL)
        if base == "lbfgsb":
            run.setdefault("ftol", FD_FTOL_LBFGSB)
    for k in ("max_iter", "max_evals"):
        if k in run:
            run[k] = max(int(run[k]), 0)

    counter = Counter()
    value, value_grad = _objective(fun, jac, args, counter, (rel_step, abs_step), box)
    hess_fn = hessp_fn = None
    if callable(hess):

        def hess_fn(x):
            counter.nhev += 1
            return np.atleast_2d(dense(hess(x.copy(), *args)))

    elif callable(hessp):

        def hessp_fn(x, p):
            counter.nhev += 1
            return np.asarray(hessp(x.copy(), p.copy(), *args), dtype=float).ravel()

    allvecs = [x0.copy()] if return_all else None
    stopped = []
    user_hook = stopping_callback(callback, stopped)
    hook = user_hook
    if return_all:

        def hook(x, f, nit):
            allvecs.append(np.copy(x))
            return user_hook(x, f, nit) if user_hook else False

    # The last two values of f, for SciPy's L-BFGS-B test on the relative reduction
    # (which descent's L-BFGS, bounded or not, answers to).
    recent = []
    if base in ("lbfgs", "lbfgsb"):
        inner = hook

        def hook(x, f, nit):
            recent.append(f)
            del recent[:-2]
            return inner(x, f, nit) if inner else False

    try:
        out = _descent.minimize(
            value, value_grad, x0, name, settings,
            bounds=box, hess=hess_fn, hessp=hessp_fn, callback=hook,
            hess_inv=base in HESS_INV, **run,
        )
    except ValueError as e:
        if "not finite at x0" not in str(e):
            raise
        # SciPy's interface answers a NaN start with a failed result, not an exception,
        # and its value there (inf stays inf).
        return OptimizeResult(
            x=x0, fun=counter.last_f, jac=np.full(n, np.nan), nit=0, nfev=counter.nfev,
            njev=counter.njev, nhev=counter.nhev, status=3, success=False,
            message=MESSAGES["non_finite"], termination="non_finite")
    term = out["termination"]
    status = STATUS.get(term, 2)
    success = bool(out["converged"]) and not stopped
    term_message = None
    # SciPy's own test, ‖∇f‖∞ ≤ gtol (1e-5 unless given), decides what SciPy would call
    # converged: descent's tolerances are tighter, and a run that went on past SciPy's
    # point until the precision of f ran out (a line search or trust region that can no
    # longer tell f's values apart) has converged by SciPy's contract — SciPy would have
    # stopped there with success. (`termination` still says how descent's run ended.)
    # L-BFGS-B's other test is the relative reduction of f in an iteration,
    # (f₋ − f)/max(|f₋|, |f|, 1) ≤ ftol (factr·ε = 2.2e-9 unless given): a run whose last
    # iteration passed it would have stopped there, or before, in SciPy with success.
    scipy_gtol = run.get("gtol", FD_GTOL)
    scipy_ftol = run.get("ftol", FD_FTOL_LBFGSB)
    reduced = len(recent) == 2 and (recent[0] - recent[1]) <= scipy_ftol * max(
        abs(recent[0]), abs(recent[1]), 1.0)
    if status == 2 and not stopped and out["grad_norm"] <= scipy_gtol:
        status, success = 0, True
        term_message = (LBFGSB_MESSAGES if base == "lbfgsb" else MESSAGES)[
            "gradient_tolerance"]
    elif (base in ("lbfgs", "lbfgsb") and not stopped and not success and reduced
          and term in ("line_search_failed", "step_tolerance")):
        status, success = 0, True
        term_message = (LBFGSB_MESSAGES if base == "lbfgsb" else MESSAGES)[
            "cost_change_tolerance"]
    elif term == "step_tolerance" and not success and not stopped:
        # The driver found a stall (steps vanished where the gradient has not; a step
        # tolerance loosened by the user is the user's test there): SciPy would say
        # precision was lost.
        status = 2
        term_message = MESSAGES["line_search_failed"]
    table = LBFGSB_MESSAGES if base == "lbfgsb" else MESSAGES
    message = term_message or table.get(term, out["message"])
    if stopped:
        status, message = 99, "`callback` raised `StopIteration`."
    if status == 1 and options.get("disp"):
        kind = RuntimeWarning if base in TRUST_REGION else OptimizeWarning
        warnings.warn(message, kind, stacklevel=2)
    if options.get("disp"):
        # SciPy's closing summary (its L-BFGS-B prints its Fortran's lines instead).
        print(f"{message}\n         Current function value: {out['fun']:f}\n"
              f"         Iterations: {out['nit']}\n"
              f"         Function evaluations: {counter.nfev}\n"
              f"         Gradient evaluations: {counter.njev}")
    res = OptimizeResult(
        x=out["x"],
        fun=out["fun"],
        jac=out["jac"],
        nit=out["nit"],
        nfev=counter.nfev,
        njev=counter.njev,
        nhev=counter.nhev,
        status=status,
        success=success,
        message=message,
        termination=term,
        method=out["method"],
    )
    if box is not None:
        res["active_bounds"] = np.asarray(out["active_bounds"], dtype=int)
    if out["x0_moved"]:
        res["x0_moved"] = np.asarray(out["x0_moved"], dtype=int)
    if out.get("hess_inv") is not None:
        res["hess_inv"] = out["hess_inv"]
    elif "hess_inv_s" in out:
        res["hess_inv"] = _limited_memory(out["hess_inv_s"], out["hess_inv_y"], n)
    if return_all:
        res["allvecs"] = allvecs
    return res


def _limited_memory(s, y, n):
    """L-BFGS's ``hess_inv`` as SciPy returns it: an ``LbfgsInvHessProduct``."""
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


