"""SciPy's ``least_squares``, run by descent's least-squares methods (trust-region
reflective, Levenberg–Marquardt, …) with descent's robust losses."""

import numpy as np

from . import _descent, _differences
from ._common import Counter, OptimizeResult, dense, lb_ub_bounds, stopping_callback

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
    x0 = np.atleast_1d(np.asarray(x0))
    if np.iscomplexobj(x0):
        raise ValueError("`x0` must be real.")
    x0 = x0.astype(float).copy()
    if x0.ndim > 1:
        raise ValueError("`x0` must have at most 1 dimension.")
    if not np.all(np.isfinite(x0)):
        raise ValueError("`x0` must be finite.")
    n = x0.size
    lb, ub = lb_ub_bounds(bounds, n)
    if np.any(lb >= ub):
        raise ValueError("Each lower bound must be strictly less than each upper bound.")
    if np.any((x0 < lb) | (x0 > ub)):
        raise ValueError("`x0` is infeasible.")
    bounded = np.any(np.isfinite(lb)) or np.any(np.isfinite(ub))
    name = LSQ_METHODS.get(str(method).lower(), str(method))
    if tr_solver not in (None, "exact", "lsmr"):
        raise ValueError("`tr_solver` must be None, 'exact' or 'lsmr'.")
    if jac_sparsity is not None:
        if method == "lm":
            raise ValueError("method='lm' does not support `jac_sparsity`.")
        if tr_solver == "exact":
            raise ValueError("tr_solver='exact' is incompatible with `jac_sparsity`.")
    tr_options = dict(tr_options or {})
    if tr_solver == "lsmr":
        # The options of SciPy's lsmr (and trf's `regularize`): descent solves its
        # subproblems by factorization, so they only have to be valid.
        known = {"damp", "atol", "btol", "conlim", "maxiter", "show", "x0", "regularize"}
        for k in tr_options:
            if k not in known:
                raise TypeError(f"lsmr() got an unexpected keyword argument '{k}'")
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
        bad = "`x_scale` must be 'jac' or array_like with positive numbers."
        if isinstance(x_scale, str) or np.iscomplexobj(x_scale):
            raise ValueError(bad)
        try:
            scale = np.broadcast_to(np.asarray(x_scale, dtype=float), (n,)).copy()
        except ValueError as e:
            raise ValueError("Inconsistent shapes between `x_scale` and `x0`.") from e
        if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
            raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")

    counter = Counter()
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

    sparse_jac = []  # whether the user's Jacobian is sparse (the result's is then too)

    if callable(jac):

        def jacobian(x):
            hit = recent_j.get(x)
            if hit is not None:
                return hit
            counter.njev += 1
            J = jac(x, *args, **kwargs)
            operator = hasattr(J, "matmat") and not hasattr(J, "toarray")
            if operator and method == "lm":
                raise ValueError("method='lm' works only with dense Jacobian matrices.")
            if operator and isinstance(x_scale, str) and x_scale == "jac":
                raise ValueError("x_scale='jac' can't be used when `jac` returns "
                                 "LinearOperator.")
            if (operator or hasattr(J, "toarray")) and tr_solver == "exact":
                raise ValueError("tr_solver='exact' works only with dense Jacobian matrices.")
            if hasattr(J, "toarray") and not sparse_jac:
                sparse_jac.append(True)
            J = np.atleast_2d(dense(J))
            if J.shape != (m, n):
                raise ValueError(f"The return value of `jac` has wrong shape: expected "
                                 f"{(m, n)}, actual {J.shape}.")
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
    if jac_sparsity is not None and np.shape(jac_sparsity) != (m, n):
        raise ValueError("`jac_sparsity` has wrong shape.")
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
    hook = stopping_callback(callback, stopped)
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
    z = (r / float(f_scale)) ** 2
    if callable(loss):
        rho = rho_of(r)
        rho1, rho2 = rho[1], rho[2] / float(f_scale) ** 2
    else:
        _, rho1, rho2 = _rho(loss_name, z)
        rho2 = rho2 / float(f_scale) ** 2
    grad = J.T @ (rho1 * r)
    if callable(loss) or loss_name != "linear":
        # SciPy's scaling of J for a robust loss (Triggs et al.'s correction).
        J = J * np.sqrt(np.maximum(rho1 + 2 * rho2 * r**2, np.finfo(float).eps))[:, None]
    if sparse_jac:
        try:
            from scipy.sparse import csr_matrix

            J = csr_matrix(J)
        except ImportError:  # pragma: no cover
            pass
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
        # (SciPy counts no Jacobians of lm when MINPACK differences them itself.)
        njev=None if method == "lm" and not callable(jac) else counter.njev,
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
    """ρ(z), ρ'(z), ρ''(z) of SciPy's named losses and descent's (z = (f/C)²)."""
    z = np.asarray(z, dtype=float)
    if name == "soft_l1":
        t = 1 + z
        return 2 * (t**0.5 - 1), t**-0.5, -0.5 * t**-1.5
    if name == "huber":
        mask = z <= 1
        zs = np.maximum(z, 1e-300)
        return (np.where(mask, z, 2 * np.sqrt(zs) - 1), np.where(mask, 1.0, zs**-0.5),
                np.where(mask, 0.0, -0.5 * zs**-1.5))
    if name == "cauchy":
        return np.log1p(z), 1 / (1 + z), -1 / (1 + z) ** 2
    if name == "arctan":
        return np.arctan(z), 1 / (1 + z**2), -2 * z / (1 + z**2) ** 2
    if name == "tolerant":
        e = np.exp(1 - z)
        return (np.log1p(np.exp(z - 1)) - np.log1p(np.exp(-1.0)), 1 / (1 + e),
                e / (1 + e) ** 2)
    if name == "tukey":
        mask = z <= 1
        return (np.where(mask, (1 - (1 - z) ** 3) / 3, 1 / 3), np.where(mask, (1 - z) ** 2, 0.0),
                np.where(mask, -2 * (1 - z), 0.0))
    return z, np.ones_like(z), np.zeros_like(z)
