"""SciPy's ``curve_fit``, on descent's ``least_squares`` and its covariance."""

import inspect
import warnings

import numpy as np

from . import _descent
from ._common import OptimizeWarning, lb_ub_bounds
from ._least_squares import least_squares


def _weights(sigma, size):
    """The residuals' transform for ``sigma``: 1-D divides them, 2-D is their covariance
    (its Cholesky factor's inverse applied)."""
    if sigma is None:
        return lambda v: v
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim <= 1 and sigma.size in (1, size):
        w = 1.0 / np.broadcast_to(sigma, (size,))
        return lambda v: v * w if v.ndim == 1 else v * w[:, None]
    if sigma.shape == (size, size):
        try:
            L = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError as e:
            raise ValueError("`sigma` must be positive definite.") from e
        return lambda v: np.linalg.solve(L, v)
    raise ValueError("`sigma` has incorrect shape.")


def curve_fit(f, xdata, ydata, p0=None, sigma=None, absolute_sigma=False,
              check_finite=None, bounds=(-np.inf, np.inf), method=None, jac=None, *,
              full_output=False, nan_policy=None, **kwargs):
    """Fit ``f(xdata, *params)`` to ``ydata``: SciPy's ``scipy.optimize.curve_fit`` run by
    descent (Levenberg–Marquardt, or trust-region reflective with bounds; any descent
    least-squares method by name; descent's `lm` also takes bounds). Returns ``popt,
    pcov`` (and with ``full_output``, ``infodict, mesg, ier``); ``pcov`` is
    ``s²(JᵀJ)⁻¹`` (``(JᵀJ)⁻¹`` with ``absolute_sigma``), infinite where it cannot be
    estimated, as SciPy's. Unless given, ``ftol``, ``xtol`` and ``gtol`` are descent's
    (1e-15), not SciPy's 1.49e-8.
    """
    given_p0 = p0 is not None
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
    lb, ub = lb_ub_bounds(bounds, n)
    bounded = bool(np.any(np.isfinite(lb)) or np.any(np.isfinite(ub)))
    if bounded and not given_p0:
        # SciPy's feasible default start: the middle of a finite box, one inside a
        # one-sided bound, 1 where there is none.
        p0 = np.where(np.isfinite(lb) & np.isfinite(ub), 0.5 * (lb + ub),
                      np.where(np.isfinite(lb), lb + 1,
                               np.where(np.isfinite(ub), ub - 1, 1.0)))
    if bounded and np.any((p0 < lb) | (p0 > ub)):
        raise ValueError("Initial guess is outside of provided bounds")
    if method is None:
        method = _descent_default(bounded)
    if "args" in kwargs:
        raise ValueError("'args' is not a supported keyword argument.")
    if nan_policy not in (None, "raise", "omit"):
        if nan_policy == "propagate":
            raise ValueError("`nan_policy='propagate'` is not supported by this function.")
        raise ValueError("nan_policy must be one of {None, 'raise', 'omit'}")
    if check_finite is None:
        check_finite = nan_policy is None
    ydata = np.asarray(ydata, dtype=float)  # as SciPy: float64 either way
    if isinstance(xdata, (list, tuple, np.ndarray)):
        xdata = np.asarray(xdata, dtype=float)
    if ydata.size == 0:
        raise ValueError("`ydata` must not be empty!")
    if check_finite and (not np.all(np.isfinite(ydata)) or
                         (isinstance(xdata, np.ndarray) and not np.all(np.isfinite(xdata)))):
        raise ValueError("array must not contain infs or NaNs")
    if nan_policy is not None:
        missing = np.isnan(ydata)
        if isinstance(xdata, np.ndarray):
            xm = np.isnan(xdata)
            missing = missing | (xm.reshape(-1, missing.size).any(axis=0) if xdata.ndim > 1
                                 else xm)
        if nan_policy == "raise" and missing.any():
            raise ValueError("The input contains nan values")
        if nan_policy == "omit" and missing.any():
            keep = ~missing
            if isinstance(xdata, np.ndarray):
                xdata = xdata[..., keep]
            ydata = ydata[keep]
            if sigma is not None:
                sigma = np.asarray(sigma)
                if sigma.ndim == 1:
                    sigma = sigma[keep]
                elif sigma.ndim == 2:
                    sigma = sigma[np.ix_(keep, keep)]
    y = ydata.ravel()
    if method == "lm" and y.size != 1 and n > y.size:
        raise TypeError(f"The number of func parameters={n} must not exceed the number of "
                        f"data points={y.size}")
    transform = _weights(sigma, y.size)

    def residual(p):
        return transform(np.asarray(f(xdata, *p)).ravel() - y)

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
    # descent's fit tolerances (those of `descent fit`, which reach NIST's certified
    # values): SciPy's 1.49e-8 can stop a fit short of its minimum by 1e-5 relative.
    for k in ("ftol", "xtol", "gtol"):
        kwargs.setdefault(k, 1e-15)
    kwargs.pop("full_output", None)
    res = least_squares(residual, p0, jac=jac_arg, bounds=(lb, ub), method=method, **kwargs)
    if not res.success:
        raise RuntimeError("Optimal parameters not found: " + res.message)
    popt = res.x
    J = res.jac.toarray() if hasattr(res.jac, "toarray") else np.asarray(res.jac)
    cov = _descent.covariance(np.ascontiguousarray(J, dtype=float), 2 * res.cost,
                              bool(absolute_sigma))
    if cov is None:
        pcov = np.full((n, n), np.inf)
        warnings.warn("Covariance of the parameters could not be estimated",
                      OptimizeWarning, stacklevel=2)
    else:
        pcov = np.asarray(cov)
    if full_output:
        infodict = {"nfev": res.nfev, "fvec": res.fun, "fjac": J.T.copy()}
        # MINPACK's pieces of the QR factorization with column pivoting, J P = Q R.
        try:
            from scipy.linalg import qr

            q, r, piv = qr(J, mode="economic", pivoting=True)
            infodict.update(fjac=r.T.copy(), ipvt=piv + 1, qtf=q.T @ res.fun)
        except ImportError:  # pragma: no cover
            pass
        return popt, pcov, infodict, res.message, res.status
    return popt, pcov


def _descent_default(bounded):
    # The library's choice (`descent::least_squares::default_method`): LM, trf in a box.
    return "trf" if bounded else "lm"
