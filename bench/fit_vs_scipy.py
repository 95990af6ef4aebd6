#!/usr/bin/env python3
"""Compare `descent fit` (Rust CLI) against SciPy on synthetic data with outliers.

Robust fits:   scipy.optimize.least_squares(method='trf', loss=..., f_scale=...,
               ftol=xtol=gtol=1e-15, max_nfev=100000, analytic jac)
Weighted fits: scipy.optimize.curve_fit(sigma=..., absolute_sigma=False/True,
               analytic jac, ftol=xtol=gtol=1e-15)

Bounded fits (`descent fit --bounds NAME=LO:HI,...`, projected active-set LM), 45 cases
on the same data sets, against SciPy's trf with the same box:
  linear loss  curve_fit(f, x, y, p0, sigma=..., bounds=(lo, hi), jac=analytic,
               ftol=xtol=gtol=1e-15, max_nfev=100000)           (method 'trf')
  soft_l1/huber least_squares(..., bounds=(lo, hi), loss=..., f_scale=..., method='trf',
               the same tolerances)
  groups: 'active'   a box per model (BOX_SPECS) that cuts off the unconstrained optimum,
                     so bounds are active at the answer (unweighted outlier data, and
                     sigma-weighted data);
          'inactive' a box holding the optimum (sigma-weighted data);
          'robust'   soft_l1 and huber with the active box (f_scale = the noise level on the
                     outlier data; 1 sigma on the weighted outlier data);
          'outside'  a start outside the active box: descent gets it raw (it projects it and
                     says so on stderr), SciPy gets np.clip of it (linear and huber).
  PASS: parameters within 1e-6 (as above), descent's answer inside the box, the JSON
  `bounds` echoing the box, its `cost` equal to the cost at its parameters, and for linear
  loss its std errors null exactly for its `active_bounds` and the others those of J's free
  columns with s^2 = rss/(m - n_free) (<= 1e-4; with the box inactive also vs curve_fit's).
  Recorded, not judged: whether descent's `active_bounds` are the parameters on a bound in
  SciPy's answer (|p - bound| <= 1e-10*max(1, |bound|)), and evaluation counts (descent
  f_evals/jac_evals vs SciPy nfev/njev, medians printed). A failing bounded case is
  diagnosed: costs at both answers, KKT at both (projected gradient, signs of the
  multipliers of the parameters on a bound), each solver restarted from the other's
  answer, Newton on the free parameters (active set held) from each, SciPy's dogbox.

Usage:
    python3 bench/fit_vs_scipy.py [--descent BIN] [--out-dir DIR]   (needs numpy, scipy)
        [--seed N] [--json all_cases.json] [--golden golden.json] [-v] [--bounded-only]

A parameter comparison PASSes when max_i |a_i - b_i| / max(|b_i|, 1e-12) <= 1e-6
(a = descent, b = SciPy); standard errors (weighted fits) when <= 1e-4.
When a robust case fails, the script diagnoses it: the robust cost and its gradient
are computed in Python at both parameter vectors, and SciPy is restarted from
descent's solution (does SciPy stay there? then both are stationary points).
Exit code 1 if any case fails (the last line of output: "N passed, M failed").
"""
import argparse
import csv
import json
import os
import subprocess
import tempfile
import sys
import warnings

import numpy as np
from scipy.optimize import least_squares, curve_fit

PARAM_RTOL = 1e-6
STDERR_RTOL = 1e-4
TOL = 1e-15
LOSSES = ["linear", "soft_l1", "huber", "cauchy", "arctan"]
# f_scale as a multiple of each data set's noise level
FSCALE_MULTS = [0.3, 1.0, 3.0]


# ----------------------------------------------------------------------------- models
class Model:
    def __init__(self, name, expr, pnames, f, jac, truth, p0, xr, m, noise):
        self.name, self.expr, self.pnames = name, expr, pnames
        self.f, self.jac = f, jac  # f(x, *p) -> y; jac(x, *p) -> (m, n) d model / d p
        self.truth, self.p0 = np.array(truth, float), np.array(p0, float)
        self.xr, self.m, self.noise = xr, m, noise


def _exp_f(x, a, b, c):
    return a * np.exp(-b * x) + c


def _exp_j(x, a, b, c):
    e = np.exp(-b * x)
    return np.column_stack([e, -a * x * e, np.ones_like(x)])


def _mm_f(x, Vm, K):
    return Vm * x / (K + x)


def _mm_j(x, Vm, K):
    return np.column_stack([x / (K + x), -Vm * x / (K + x) ** 2])


def _logi_f(x, L, k, x0):
    return L / (1.0 + np.exp(-k * (x - x0)))


def _logi_j(x, L, k, x0):
    e = np.exp(-k * (x - x0))
    s = 1.0 / (1.0 + e)
    ds = s * s * e  # d s / d(k*(x-x0))
    return np.column_stack([s, L * ds * (x - x0), -L * ds * k])


def _sin_f(x, a, w, p):
    return a * np.sin(w * x + p)


def _sin_j(x, a, w, p):
    s, c = np.sin(w * x + p), np.cos(w * x + p)
    return np.column_stack([s, a * x * c, a * c])


def _gauss_f(x, A, mu, s, B):
    return A * np.exp(-0.5 * ((x - mu) / s) ** 2) + B


def _gauss_j(x, A, mu, s, B):
    u = (x - mu) / s
    e = np.exp(-0.5 * u * u)
    return np.column_stack([e, A * e * u / s, A * e * u * u / s, np.ones_like(x)])


MODELS = [
    Model("expdecay", "a*exp(-b*x)+c", ["a", "b", "c"], _exp_f, _exp_j,
          [5.0, 1.3, 1.0], [3.0, 0.8, 0.5], (0.0, 5.0), 50, 0.10),
    Model("michaelis", "Vm*x/(K+x)", ["Vm", "K"], _mm_f, _mm_j,
          [2.0, 1.5], [1.0, 0.5], (0.1, 10.0), 40, 0.05),
    Model("logistic", "L/(1+exp(-k*(x-x0)))", ["L", "k", "x0"], _logi_f, _logi_j,
          [4.0, 1.5, 5.0], [3.0, 1.0, 4.0], (0.0, 10.0), 60, 0.10),
    Model("sinusoid", "a*sin(w*x+p)", ["a", "w", "p"], _sin_f, _sin_j,
          [2.0, 1.2, 0.5], [1.5, 1.15, 0.3], (0.0, 10.0), 70, 0.15),
    Model("gausspeak", "A*exp(-0.5*((x-mu)/s)^2)+B", ["A", "mu", "s", "B"], _gauss_f, _gauss_j,
          [3.0, 4.0, 1.2, 0.5], [2.0, 3.5, 0.8, 0.2], (0.0, 10.0), 80, 0.10),
]
MODEL_BY_NAME = {m.name: m for m in MODELS}


# ----------------------------------------------------------------------------- data
def make_outlier_data(rng, mdl, m=None, frac=0.10):
    m = m or mdl.m
    x = np.sort(rng.uniform(*mdl.xr, m))
    y = mdl.f(x, *mdl.truth) + rng.normal(0.0, mdl.noise, m)
    k = max(1, int(round(frac * m)))
    idx = rng.choice(m, k, replace=False)
    y[idx] += rng.choice([-1.0, 1.0], k) * rng.uniform(8.0, 20.0, k) * mdl.noise
    return x, y, None


def make_weighted_data(rng, mdl, m=None, outliers=0):
    """Heteroscedastic noise: sigma runs log-uniformly over x10 across the points."""
    m = m or mdl.m
    x = np.sort(rng.uniform(*mdl.xr, m))
    sigma = mdl.noise * 0.3 * 10.0 ** rng.uniform(0.0, 1.0, m)
    sigma[np.argmin(sigma)] = mdl.noise * 0.3          # make the spread exactly x10
    sigma[np.argmax(sigma)] = mdl.noise * 3.0
    y = mdl.f(x, *mdl.truth) + rng.normal(0.0, 1.0, m) * sigma
    if outliers:
        idx = rng.choice(m, outliers, replace=False)
        y[idx] += rng.choice([-1.0, 1.0], outliers) * rng.uniform(8.0, 20.0, outliers) * sigma[idx]
    return x, y, sigma


def write_csv(path, x, y, sigma):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "y", "sigma"] if sigma is not None else ["x", "y"])
        for i in range(len(x)):
            row = [repr(float(x[i])), repr(float(y[i]))]
            if sigma is not None:
                row.append(repr(float(sigma[i])))
            w.writerow(row)


# ----------------------------------------------------------------------------- losses
def rho(loss, z):
    """SciPy's rho(z) (z = (r/C)^2) and rho'(z)."""
    if loss == "linear":
        return z, np.ones_like(z)
    if loss == "soft_l1":
        t = np.sqrt(1.0 + z)
        return 2.0 * (t - 1.0), 1.0 / t
    if loss == "huber":
        big = z > 1.0
        sz = np.sqrt(np.where(big, z, 1.0))
        return np.where(big, 2.0 * sz - 1.0, z), np.where(big, 1.0 / sz, 1.0)
    if loss == "cauchy":
        return np.log1p(z), 1.0 / (1.0 + z)
    if loss == "arctan":
        return np.arctan(z), 1.0 / (1.0 + z * z)
    raise ValueError(loss)


def robust_cost_grad(mdl, p, x, y, sigma, loss, C):
    s = np.ones_like(y) if sigma is None else sigma
    r = (mdl.f(x, *p) - y) / s
    J = mdl.jac(x, *p) / s[:, None]
    z = (r / C) ** 2
    rv, d1 = rho(loss, z)
    cost = 0.5 * C * C * float(np.sum(rv))
    grad = J.T @ (d1 * r)
    return cost, grad


def newton_polish(mdl, p, x, y, sigma, loss, C, max_iter=60, free=None):
    """Independent arbiter: Newton's method on the robust cost itself (analytic gradient,
    Hessian by central differences of that gradient), started from p; iterates while
    the gradient's inf-norm keeps falling. Returns (p*, cost, |grad|inf, min Hessian
    eigenvalue); p* is the exact local minimizer to ~1e-12 when the Hessian is positive
    definite, independent of any solver's stopping rule.
    With `free` (a boolean mask) only those parameters move, the others are held where p
    has them (bounded fits: the active set held on its bounds); gradient and Hessian are
    then the free ones'."""
    p = np.array(p, float)
    idx = np.arange(len(p)) if free is None else np.flatnonzero(free)
    n = len(idx)

    def cg(q):
        full = p.copy()
        full[idx] = q
        c_, g_ = robust_cost_grad(mdl, full, x, y, sigma, loss, C)
        return c_, g_[idx]

    q = p[idx].copy()
    c, g = cg(q)
    H = np.full((n, n), np.nan)
    for _ in range(max_iter if n else 0):
        H = np.zeros((n, n))
        for j in range(n):
            h = 1e-6 * max(abs(q[j]), 1e-3)
            e = np.zeros(n)
            e[j] = h
            H[:, j] = (cg(q + e)[1] - cg(q - e)[1]) / (2 * h)
        H = 0.5 * (H + H.T)
        if not np.all(np.isfinite(H)):
            break
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            break
        qn = q + step
        with np.errstate(all="ignore"):
            cn, gn = cg(qn)
        if not (np.isfinite(cn) and np.max(np.abs(gn)) < np.max(np.abs(g))):
            break
        q, c, g = qn, cn, gn
    try:
        mineig = float(np.min(np.linalg.eigvalsh(H))) if n else float("nan")
    except (np.linalg.LinAlgError, ValueError):
        mineig = float("nan")
    out = p.copy()
    out[idx] = q
    return out, c, float(np.max(np.abs(g))) if n else 0.0, mineig


# ----------------------------------------------------------------------------- runners
def scipy_robust(mdl, x, y, sigma, loss, C, p0):
    s = np.ones_like(y) if sigma is None else sigma
    fun = lambda p: (mdl.f(x, *p) - y) / s
    jac = lambda p: mdl.jac(x, *p) / s[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = least_squares(fun, p0, jac=jac, method="trf", loss=loss, f_scale=C,
                            ftol=TOL, xtol=TOL, gtol=TOL, max_nfev=100000)
    return res


def scipy_curve_fit(mdl, x, y, sigma, absolute_sigma, p0):
    """curve_fit with MINPACK lm at tight tolerances; MINPACK may report info 6/7/8
    ('tolerance too small, no further improvement possible') which curve_fit treats as
    failure - then retry with looser tolerances and record which ones worked."""
    jac = lambda xx, *p: mdl.jac(xx, *p)
    last = None
    for tol in (TOL, 1e-14, 1e-13, 1e-12, 1e-10):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                popt, pcov, info, msg, ier = curve_fit(
                    mdl.f, x, y, p0=p0, sigma=sigma, absolute_sigma=absolute_sigma,
                    jac=jac, ftol=tol, xtol=tol, gtol=tol, maxfev=100000, full_output=True)
            return popt, pcov, {"tol": tol, "nfev": int(info["nfev"]), "ier": int(ier), "msg": msg}
        except RuntimeError as e:
            last = e
    raise last


# Extra arguments for every `descent fit` (--descent-arg, repeatable), e.g. --method=trf.
EXTRA_ARGS = []


def run_descent(binpath, mdl, csv_path, p0, loss=None, C=None, sigma_col=None,
                absolute_sigma=False, extra=()):
    cmd = [binpath, "fit", "--model", mdl.expr, "--data", csv_path, "--x", "x", "--y", "y",
           "--init", ",".join(f"{n}={repr(float(v))}" for n, v in zip(mdl.pnames, p0)),
           "--ftol", "1e-15", "--xtol", "1e-15", "--gtol", "1e-15", "--json"]
    if loss is not None:
        cmd += ["--loss", loss, "--f-scale", repr(float(C))]
    if sigma_col:
        cmd += ["--sigma", sigma_col]
    if absolute_sigma:
        cmd += ["--absolute-sigma"]
    cmd += list(extra) + EXTRA_ARGS
    pr = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if pr.returncode != 0:
        raise RuntimeError(f"descent exit {pr.returncode}: {pr.stderr.strip()[:500]}\n cmd: {cmd}")
    out = json.loads(pr.stdout)
    out["_cmd"] = cmd
    out["_stderr"] = pr.stderr
    return out


def maxrel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


# ----------------------------------------------------------------------------- cases
def robust_case(args, dsname, mdl, csv_path, x, y, sigma, loss, C, fmult):
    p0 = mdl.p0
    case = {"kind": "robust", "dataset": dsname, "model": mdl.expr, "params_order": mdl.pnames,
            "loss": loss, "f_scale": C, "f_scale_rel_noise": fmult, "weighted": sigma is not None,
            "p0": p0.tolist(), "csv": csv_path}
    res = scipy_robust(mdl, x, y, sigma, loss, C, p0)
    case["scipy"] = {"params": res.x.tolist(), "cost": float(res.cost), "nfev": int(res.nfev),
                     "njev": int(res.njev), "status": int(res.status)}
    try:
        d = run_descent(args.descent, mdl, csv_path, p0, loss=loss, C=C,
                        sigma_col="sigma" if sigma is not None else None)
    except Exception as e:  # noqa
        case.update(status="FAIL", note=f"descent error: {e}", maxrel=float("nan"))
        return case
    dp = np.array([d["params"][n] for n in mdl.pnames])
    case["descent_cmd"] = d["_cmd"]
    case["descent"] = {"params": dp.tolist(), "cost": d["cost"], "iterations": d["iterations"],
                       "f_evals": d["f_evals"], "termination": d["termination"],
                       "converged": d["converged"]}
    mr = maxrel(dp, res.x)
    case["maxrel"] = mr
    cd, gd = robust_cost_grad(mdl, dp, x, y, sigma, loss, C)
    cs, gs = robust_cost_grad(mdl, res.x, x, y, sigma, loss, C)
    case["py_cost_descent"], case["py_cost_scipy"] = cd, cs
    case["grad_inf_descent"], case["grad_inf_scipy"] = float(np.max(np.abs(gd))), float(np.max(np.abs(gs)))
    # the CLI's own cost must be the SciPy-defined cost at its parameters
    cost_self_rel = abs(d["cost"] - cd) / max(abs(cd), 1e-300)
    case["descent_cost_selfcheck_rel"] = cost_self_rel
    pn, cn, gn, en = newton_polish(mdl, res.x, x, y, sigma, loss, C)
    case["newton_ref"] = {"params": pn.tolist(), "cost": cn, "grad_inf": gn, "min_hess_eig": en}
    case["newton_ref_maxrel_scipy"], case["newton_ref_maxrel_descent"] = maxrel(res.x, pn), maxrel(dp, pn)
    notes = []
    if cost_self_rel > 1e-9:
        notes.append(f"descent's reported cost {d['cost']:.12g} != Python cost at its params {cd:.12g}")
    if mr <= PARAM_RTOL and cost_self_rel <= 1e-9:
        case["status"] = "PASS"
    else:
        case["status"] = "FAIL"
        if mr > PARAM_RTOL:
            # Diagnose: restart SciPy at descent's answer, and descent at SciPy's answer.
            r2 = scipy_robust(mdl, x, y, sigma, loss, C, dp)
            pn_d, c_d, g_d, e_d = newton_polish(mdl, dp, x, y, sigma, loss, C)
            case["newton_from_descent"] = {"params": pn_d.tolist(), "cost": c_d, "grad_inf": g_d,
                                           "min_hess_eig": e_d, "moved_rel": maxrel(dp, pn_d)}
            sig_col = "sigma" if sigma is not None else None
            try:
                d2 = run_descent(args.descent, mdl, csv_path, res.x, loss=loss, C=C, sigma_col=sig_col)
                d2p = np.array([d2["params"][n] for n in mdl.pnames])
                case["descent_restart_from_scipy"] = {"params": d2p.tolist(), "cost": d2["cost"],
                                                      "moved_rel": maxrel(d2p, res.x)}
                notes.append(f"descent restarted at SciPy's params moves {maxrel(d2p, res.x):.1e}")
            except Exception as e:  # noqa
                notes.append(f"descent restart at SciPy's params failed: {e}")
            # a third opinion from the same start, and both solvers from the true parameters
            s_ = np.ones_like(y) if sigma is None else sigma
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rdb = least_squares(lambda p: (mdl.f(x, *p) - y) / s_, p0,
                                    jac=lambda p: mdl.jac(x, *p) / s_[:, None], method="dogbox",
                                    loss=loss, f_scale=C, ftol=TOL, xtol=TOL, gtol=TOL, max_nfev=100000)
            which = ("descent's" if maxrel(rdb.x, dp) <= 1e-5 else
                     "SciPy-trf's" if maxrel(rdb.x, res.x) <= 1e-5 else "a third")
            notes.append(f"SciPy dogbox from the same start finds {which} minimum (cost {rdb.cost:.10g})")
            case["scipy_dogbox"] = {"params": rdb.x.tolist(), "cost": float(rdb.cost)}
            rt = scipy_robust(mdl, x, y, sigma, loss, C, mdl.truth)
            try:
                dt = run_descent(args.descent, mdl, csv_path, mdl.truth, loss=loss, C=C, sigma_col=sig_col)
                dtp = np.array([dt["params"][n] for n in mdl.pnames])
                mt = maxrel(dtp, rt.x)
                notes.append(f"started at the TRUE params both agree to {mt:.1e} (cost {rt.cost:.10g})")
                case["from_truth"] = {"scipy": rt.x.tolist(), "descent": dtp.tolist(), "maxrel": mt,
                                      "scipy_cost": float(rt.cost), "descent_cost": dt["cost"]}
            except Exception as e:  # noqa
                notes.append(f"descent from true params failed: {e}")
            stay = maxrel(r2.x, dp)
            back = maxrel(r2.x, res.x)
            rel_dc = (cd - cs) / max(abs(cs), 1e-300)
            if abs(rel_dc) <= 1e-12:
                who = "equal cost (flat/ill-conditioned minimum)"
            elif cd < cs:
                who = "descent LOWER cost"
            else:
                who = "SciPy LOWER cost"
            notes.insert(len(notes) - 3,
                         f"{who}: rel cost diff {rel_dc:+.3e}; |grad|inf descent {case['grad_inf_descent']:.1e}"
                         f" scipy {case['grad_inf_scipy']:.1e}; Newton from descent's params moves {maxrel(dp, pn_d):.1e}"
                         f" (min Hessian eig {e_d:.2e}), from SciPy's moves {case['newton_ref_maxrel_scipy']:.1e}"
                         f" (min eig {case['newton_ref']['min_hess_eig']:.2e}); SciPy restarted at descent's"
                         f" params moves {stay:.1e}")
            case["scipy_restart_from_descent"] = {"params": r2.x.tolist(), "cost": float(r2.cost),
                                                  "moved_rel": stay, "dist_to_scipy_rel": back}
    case["note"] = "; ".join(notes)
    return case


def weighted_case(args, dsname, mdl, csv_path, x, y, sigma, absolute_sigma):
    p0 = mdl.p0
    case = {"kind": "weighted", "dataset": dsname, "model": mdl.expr, "params_order": mdl.pnames,
            "loss": "linear", "f_scale": 1.0, "absolute_sigma": absolute_sigma, "weighted": True,
            "p0": p0.tolist(), "csv": csv_path}
    popt, pcov, info = scipy_curve_fit(mdl, x, y, sigma, absolute_sigma, p0)
    se = np.sqrt(np.diag(pcov))
    cs, gs = robust_cost_grad(mdl, popt, x, y, sigma, "linear", 1.0)
    case["scipy"] = {"params": popt.tolist(), "std_errors": se.tolist(), "cov": pcov.tolist(),
                     "cost": cs, "nfev": info["nfev"], "tol": info["tol"], "ier": info["ier"]}
    try:
        d = run_descent(args.descent, mdl, csv_path, p0, sigma_col="sigma",
                        absolute_sigma=absolute_sigma)
    except Exception as e:  # noqa
        case.update(status="FAIL", note=f"descent error: {e}", maxrel=float("nan"))
        return case
    dp = np.array([d["params"][n] for n in mdl.pnames])
    dse = np.array([d["std_errors"][n] for n in mdl.pnames]) if d.get("std_errors") else None
    cd, gd = robust_cost_grad(mdl, dp, x, y, sigma, "linear", 1.0)
    case["descent"] = {"params": dp.tolist(), "std_errors": None if dse is None else dse.tolist(),
                       "cost": d["cost"], "iterations": d["iterations"], "f_evals": d["f_evals"],
                       "termination": d["termination"], "converged": d["converged"]}
    case["py_cost_descent"], case["py_cost_scipy"] = cd, cs
    case["grad_inf_descent"], case["grad_inf_scipy"] = float(np.max(np.abs(gd))), float(np.max(np.abs(gs)))
    mr = maxrel(dp, popt)
    mse = maxrel(dse, se) if dse is not None else float("inf")
    pn, cn, gn, en = newton_polish(mdl, popt, x, y, sigma, "linear", 1.0)
    case["newton_ref"] = {"params": pn.tolist(), "cost": cn, "grad_inf": gn, "min_hess_eig": en}
    case["newton_ref_maxrel_scipy"], case["newton_ref_maxrel_descent"] = maxrel(popt, pn), maxrel(dp, pn)
    case["maxrel"], case["maxrel_stderr"] = mr, mse
    notes = []
    if info["tol"] != TOL:
        notes.append(f"curve_fit needed tol={info['tol']:g} (MINPACK ier at 1e-15)")
    ok = mr <= PARAM_RTOL and mse <= STDERR_RTOL
    if mr > PARAM_RTOL:
        notes.append(f"params differ; cost descent {cd:.15g} scipy {cs:.15g}")
    if mse > STDERR_RTOL:
        notes.append(f"std errors differ: maxrel {mse:.2e}")
    case["status"] = "PASS" if ok else "FAIL"
    case["note"] = "; ".join(notes)
    return case


# ----------------------------------------------------------------------------- bounded fits
INF = np.inf
ACTIVE_ATOL = 1e-10  # SciPy's answer is on a bound when |p - bound| <= 1e-10*max(1, |bound|)
BOUNDED_LOSSES = ["soft_l1", "huber"]

# Per model: `active`, a box that cuts off the unconstrained optimum, so that bounds are
# active at the constrained one (the script checks that they are, from SciPy's answer);
# `p0_active`, a start inside that box (None: the model's p0, which is inside);
# `inactive`, a box holding the optimum with room to spare (the model's p0 inside);
# `outside`, a start outside `active`: descent is given it raw (it projects it and says so
# on stderr), SciPy np.clip of it (least_squares refuses an infeasible x0).
BOX_SPECS = {
    "expdecay": dict(active={"b": (0.0, 0.9)}, p0_active=None,
                     inactive={"a": (1.0, 10.0), "b": (0.5, 3.0), "c": (-1.0, 3.0)},
                     outside=[3.0, 1.6, 0.5]),
    "michaelis": dict(active={"K": (3.0, 10.0)}, p0_active=[1.0, 4.0],
                      inactive={"Vm": (0.5, 5.0), "K": (0.2, 5.0)},
                      outside=[1.0, 0.5]),
    "logistic": dict(active={"L": (0.0, 3.7), "x0": (5.3, INF)}, p0_active=[3.0, 1.0, 6.0],
                     inactive={"L": (1.0, 8.0), "k": (0.3, 5.0), "x0": (2.0, 8.0)},
                     outside=[3.0, 1.0, 4.0]),
    "sinusoid": dict(active={"p": (-INF, 0.1)}, p0_active=[1.5, 1.15, 0.0],
                     inactive={"a": (0.5, 5.0), "w": (0.8, 1.6), "p": (-1.0, 2.0)},
                     outside=[1.5, 1.15, 0.3]),
    "gausspeak": dict(active={"s": (0.5, 1.0), "B": (-INF, 0.3)}, p0_active=None,
                      inactive={"A": (0.5, 10.0), "mu": (2.0, 6.0), "s": (0.3, 3.0), "B": (-1.0, 2.0)},
                      outside=[2.0, 3.5, 1.5, 0.6]),
}


def box_arrays(mdl, box):
    lo = np.array([box.get(n, (-INF, INF))[0] for n in mdl.pnames], float)
    hi = np.array([box.get(n, (-INF, INF))[1] for n in mdl.pnames], float)
    return lo, hi


def box_arg(box):
    """NAME=LO:HI,... for --bounds (repr gives inf/-inf for infinite sides)."""
    return ",".join(f"{n}={float(l)!r}:{float(h)!r}" for n, (l, h) in box.items())


def at_bound(p, lo, hi):
    """Mask of parameters within 1e-10*max(1, |bound|) of a finite bound."""
    p = np.asarray(p, float)
    near_lo = np.isfinite(lo) & (np.abs(p - lo) <= ACTIVE_ATOL * np.maximum(1.0, np.abs(lo)))
    near_hi = np.isfinite(hi) & (np.abs(p - hi) <= ACTIVE_ATOL * np.maximum(1.0, np.abs(hi)))
    return near_lo | near_hi


def kkt_info(mdl, p, x, y, sigma, loss, C, lo, hi):
    """First-order conditions of min cost(p) s.t. lo <= p <= hi at p: the projected
    gradient p - clip(p - g, lo, hi) (zero at a KKT point), the gradient over the
    parameters not on a bound, and the parameters on a bound whose multiplier has the
    wrong sign (gradient pointing into the box: moving off the bound lowers the cost)."""
    p = np.asarray(p, float)
    c, g = robust_cost_grad(mdl, p, x, y, sigma, loss, C)
    pg = p - np.clip(p - g, lo, hi)
    act = at_bound(p, lo, hi)
    on_lo = act & (np.abs(p - lo) <= np.abs(p - hi))
    wrong = [mdl.pnames[i] for i in np.flatnonzero(act)
             if (on_lo[i] and g[i] < 0) or (not on_lo[i] and g[i] > 0)]
    return {"cost": float(c), "grad": g.tolist(), "pg_inf": float(np.max(np.abs(pg))),
            "free_grad_inf": float(np.max(np.abs(g[~act]))) if np.any(~act) else 0.0,
            "on_bound": [mdl.pnames[i] for i in np.flatnonzero(act)], "wrong_sign": wrong}


def scipy_bounded_ls(mdl, x, y, sigma, loss, C, p0, lo, hi, method="trf"):
    s = np.ones_like(y) if sigma is None else sigma
    fun = lambda p: (mdl.f(x, *p) - y) / s
    jac = lambda p: mdl.jac(x, *p) / s[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return least_squares(fun, p0, jac=jac, bounds=(lo, hi), method=method, loss=loss, f_scale=C,
                             ftol=TOL, xtol=TOL, gtol=TOL, max_nfev=100000)


def scipy_curve_fit_bounded(mdl, x, y, sigma, p0, lo, hi, absolute_sigma=False):
    """curve_fit with bounds (method 'trf'), analytic jac (its calls counted), tight tols."""
    njev = [0]

    def jac(xx, *p):
        njev[0] += 1
        return mdl.jac(xx, *p)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, pcov, info, msg, ier = curve_fit(
            mdl.f, x, y, p0=p0, sigma=sigma, absolute_sigma=absolute_sigma, bounds=(lo, hi), jac=jac,
            ftol=TOL, xtol=TOL, gtol=TOL, max_nfev=100000, full_output=True)
    return popt, pcov, {"nfev": int(info["nfev"]), "njev": njev[0], "status": int(ier), "msg": msg}


def free_std_errors(mdl, p, x, y, sigma, free, absolute_sigma=False):
    """Standard errors as the CLI defines them with bounds: covariance of the free
    parameters from J's free columns, s^2 = rss/(m - n_free) (unless absolute sigma);
    NaN for the held ones."""
    s = np.ones_like(y) if sigma is None else sigma
    J = mdl.jac(x, *p) / s[:, None]
    r = (mdl.f(x, *p) - y) / s
    Jf = J[:, free]
    se = np.full(len(p), np.nan)
    if Jf.shape[1]:
        cov = np.linalg.inv(Jf.T @ Jf)
        if not absolute_sigma:
            cov *= float(r @ r) / (len(y) - Jf.shape[1])
        se[free] = np.sqrt(np.diag(cov))
    return se


def bounded_case(args, group, dsname, mdl, csv_path, x, y, sigma, box, p0, loss="linear", C=1.0,
                 fmult=float("nan")):
    lo, hi = box_arrays(mdl, box)
    p0 = np.array(p0, float)
    p0s = np.clip(p0, lo, hi)
    names = mdl.pnames
    case = {"kind": "bounded", "group": group, "dataset": dsname, "model": mdl.expr, "params_order": names,
            "loss": loss, "f_scale": C, "f_scale_rel_noise": fmult, "weighted": sigma is not None,
            "box": {n: [float(l) if np.isfinite(l) else None, float(h) if np.isfinite(h) else None]
                    for n, l, h in zip(names, lo, hi)},
            "bounds_arg": box_arg(box), "p0": p0.tolist(), "p0_scipy": p0s.tolist(),
            "start_outside": bool(np.any(p0s != p0)), "csv": csv_path}
    try:
        if loss == "linear":
            sp, pcov, info = scipy_curve_fit_bounded(mdl, x, y, sigma, p0s, lo, hi)
            case["scipy"] = {"solver": "curve_fit(trf)", "params": sp.tolist(),
                             "std_errors": np.sqrt(np.diag(pcov)).tolist(), "nfev": info["nfev"],
                             "njev": info["njev"], "status": info["status"]}
        else:
            res = scipy_bounded_ls(mdl, x, y, sigma, loss, C, p0s, lo, hi)
            sp = res.x
            case["scipy"] = {"solver": "least_squares(trf)", "params": sp.tolist(), "cost": float(res.cost),
                             "nfev": int(res.nfev), "njev": int(res.njev), "status": int(res.status)}
    except Exception as e:  # noqa
        case.update(status="FAIL", note=f"SciPy error: {e}", maxrel=float("nan"), scipy={"nfev": -1})
        return case
    sp_act = at_bound(sp, lo, hi)
    case["scipy"]["active"] = [names[i] for i in np.flatnonzero(sp_act)]
    sig_col = "sigma" if sigma is not None else None
    lossarg = None if loss == "linear" else loss
    try:
        d = run_descent(args.descent, mdl, csv_path, p0, loss=lossarg, C=C, sigma_col=sig_col,
                        extra=["--bounds", box_arg(box)])
    except Exception as e:  # noqa
        case.update(status="FAIL", note=f"descent error: {e}", maxrel=float("nan"))
        return case
    dp = np.array([d["params"][n] for n in names])
    d_act = list(d.get("active_bounds", []))
    case["descent_cmd"] = d["_cmd"]
    case["descent"] = {"params": dp.tolist(), "cost": d["cost"], "iterations": d["iterations"],
                       "f_evals": d["f_evals"], "jac_evals": d["jac_evals"], "termination": d["termination"],
                       "converged": d["converged"], "active": d_act, "bounds": d.get("bounds"),
                       "dof": d.get("dof"), "std_errors": d.get("std_errors"), "stderr": d["_stderr"].strip()}
    notes, bad = [], []
    # parameters
    mr = maxrel(dp, sp)
    case["maxrel"] = mr
    if mr > PARAM_RTOL:
        bad.append(f"params differ (maxrel {mr:.2e})")
    # the active sets (recorded; SciPy's by distance to the bound)
    case["active_same"] = bool(set(d_act) == set(case["scipy"]["active"]))
    if not case["active_same"]:
        dist = {n: float(min(abs(sp[i] - lo[i]), abs(sp[i] - hi[i]))) for i, n in enumerate(names)
                if n in d_act or sp_act[i]}
        notes.append(f"active sets differ: descent {d_act}, SciPy {case['scipy']['active']}"
                     f" (SciPy's distances to the bound {dist})")
    if group != "inactive" and not sp_act.any():
        notes.append("box NOT active at SciPy's answer (the case was meant to have an active bound)")
    if group == "inactive" and sp_act.any():
        notes.append("box active at SciPy's answer (the case was meant to be inactive)")
    # contract of the JSON output: the bounds echoed, the answer in the box, the cost SciPy's
    want = {n: case["box"][n] for n in names}
    if d.get("bounds") != want:
        bad.append(f"JSON bounds {d.get('bounds')} != {want}")
    if not np.all((dp >= lo) & (dp <= hi)):
        bad.append("descent's params outside the box")
    cd, _ = robust_cost_grad(mdl, dp, x, y, sigma, loss, C)
    cost_self_rel = abs(d["cost"] - cd) / max(abs(cd), 1e-300)
    case["descent_cost_selfcheck_rel"] = cost_self_rel
    if cost_self_rel > 1e-9:
        bad.append(f"descent's reported cost {d['cost']:.12g} != Python cost at its params {cd:.12g}")
    if case["start_outside"] and "outside the bounds" not in d["_stderr"]:
        notes.append("descent printed no note about projecting the start")
    # standard errors (linear loss): null exactly for descent's active parameters, the
    # others from J's free columns (checked at descent's own answer); with the box inactive
    # also against curve_fit's
    if loss == "linear":
        dse_raw = d.get("std_errors") or {}
        dse = np.array([np.nan if dse_raw.get(n) is None else dse_raw[n] for n in names], float)
        held = np.array([n in d_act for n in names])
        se_py = free_std_errors(mdl, dp, x, y, sigma, ~held)
        nulls_ok = bool(np.array_equal(np.isnan(dse), held))
        mse = maxrel(dse[~held], se_py[~held]) if np.any(~held) else 0.0
        case["maxrel_stderr"] = mse if nulls_ok else float("inf")
        if not nulls_ok:
            bad.append(f"std_errors null for {[n for n in names if n in dse_raw and dse_raw[n] is None]},"
                       f" active {d_act}")
        elif mse > STDERR_RTOL:
            bad.append(f"std errors differ from the free-column formula: maxrel {mse:.2e}")
        if d.get("dof") != len(y) - int(np.sum(~held)):
            bad.append(f"dof {d.get('dof')} != m - n_free = {len(y) - int(np.sum(~held))}")
        if not held.any() and not sp_act.any():
            ms = maxrel(dse, case["scipy"]["std_errors"])
            case["maxrel_stderr_vs_curve_fit"] = ms
            if ms > STDERR_RTOL:
                bad.append(f"std errors differ from curve_fit's: maxrel {ms:.2e}")
    # first-order conditions at both answers
    kd = kkt_info(mdl, dp, x, y, sigma, loss, C, lo, hi)
    ks = kkt_info(mdl, sp, x, y, sigma, loss, C, lo, hi)
    case["kkt_descent"], case["kkt_scipy"] = kd, ks
    case["py_cost_descent"], case["py_cost_scipy"] = kd["cost"], ks["cost"]
    case["status"] = "PASS" if not bad else "FAIL"
    if mr > PARAM_RTOL:
        notes += bounded_diagnosis(args, case, mdl, csv_path, x, y, sigma, loss, C, lo, hi, box, dp, sp, p0s)
    case["note"] = "; ".join(bad + notes)
    return case


def bounded_diagnosis(args, case, mdl, csv_path, x, y, sigma, loss, C, lo, hi, box, dp, sp, p0s):
    """Why do the two answers differ? Costs, KKT at both, each solver restarted from the
    other's answer, Newton on the free parameters (active set held) from each answer, and
    SciPy's dogbox from the same start as a third opinion."""
    names = mdl.pnames
    kd, ks = case["kkt_descent"], case["kkt_scipy"]
    notes = []
    rel = (kd["cost"] - ks["cost"]) / max(abs(ks["cost"]), 1e-300)
    who = ("equal cost" if abs(rel) <= 1e-12 else "descent LOWER cost" if rel < 0 else "SciPy LOWER cost")
    notes.append(f"{who}: rel cost diff {rel:+.3e} (descent {kd['cost']:.12g}, SciPy {ks['cost']:.12g})")
    notes.append(f"KKT: |proj grad|inf descent {kd['pg_inf']:.1e} (on bound {kd['on_bound']}, wrong-sign"
                 f" multipliers {kd['wrong_sign']}), SciPy {ks['pg_inf']:.1e} (on bound {ks['on_bound']},"
                 f" wrong-sign {ks['wrong_sign']})")
    diag = {}
    r2 = scipy_bounded_ls(mdl, x, y, sigma, loss, C, np.clip(dp, lo, hi), lo, hi)
    diag["scipy_from_descent"] = {"params": r2.x.tolist(), "cost": float(r2.cost),
                                  "moved_rel": maxrel(r2.x, dp), "dist_to_scipy_rel": maxrel(r2.x, sp)}
    notes.append(f"SciPy restarted at descent's answer moves {maxrel(r2.x, dp):.1e}"
                 f" (ends {maxrel(r2.x, sp):.1e} from its own first answer)")
    try:
        d2 = run_descent(args.descent, mdl, csv_path, sp, loss=None if loss == "linear" else loss, C=C,
                         sigma_col="sigma" if sigma is not None else None, extra=["--bounds", box_arg(box)])
        d2p = np.array([d2["params"][n] for n in names])
        diag["descent_from_scipy"] = {"params": d2p.tolist(), "cost": d2["cost"], "moved_rel": maxrel(d2p, sp),
                                      "dist_to_descent_rel": maxrel(d2p, dp), "active": d2.get("active_bounds")}
        notes.append(f"descent restarted at SciPy's answer moves {maxrel(d2p, sp):.1e}"
                     f" (ends {maxrel(d2p, dp):.1e} from its own first answer)")
    except Exception as e:  # noqa
        notes.append(f"descent restart at SciPy's answer failed: {e}")
    for who_, p in (("descent", dp), ("scipy", sp)):
        act = at_bound(p, lo, hi)
        q = p.copy()
        q[act] = np.where(np.abs(p - lo) <= np.abs(p - hi), lo, hi)[act]
        pn, cn, gn, en = newton_polish(mdl, q, x, y, sigma, loss, C, free=~act)
        inside = bool(np.all((pn >= lo) & (pn <= hi)))
        diag[f"newton_from_{who_}"] = {"params": pn.tolist(), "cost": cn, "free_grad_inf": gn,
                                       "min_hess_eig": en, "moved_rel": maxrel(pn, p), "inside": inside,
                                       "held": [names[i] for i in np.flatnonzero(act)]}
        notes.append(f"Newton on the free params from {who_}'s answer (held {diag[f'newton_from_{who_}']['held']})"
                     f" moves {maxrel(pn, p):.1e}, |grad|inf {gn:.1e}, min eig {en:.2e}"
                     f"{'' if inside else ', LEAVES the box'}")
    rdb = scipy_bounded_ls(mdl, x, y, sigma, loss, C, p0s, lo, hi, method="dogbox")
    which = ("descent's" if maxrel(rdb.x, dp) <= 1e-5 else
             "SciPy-trf's" if maxrel(rdb.x, sp) <= 1e-5 else "a third")
    diag["scipy_dogbox"] = {"params": rdb.x.tolist(), "cost": float(rdb.cost), "nfev": int(rdb.nfev)}
    notes.append(f"SciPy dogbox from the same start finds {which} answer (cost {rdb.cost:.12g})")
    # parameters of descent's answer that are NEAR a bound (1e-8 relative) without being ON it
    near = [n for i, n in enumerate(names)
            if not (dp[i] == lo[i] or dp[i] == hi[i])
            and min(abs(dp[i] - lo[i]), abs(dp[i] - hi[i])) <= 1e-8 * max(1.0, abs(dp[i]))]
    if near:
        notes.append("descent's answer has " + ", ".join(
            f"{n} {min(abs(dp[names.index(n)] - lo[names.index(n)]), abs(dp[names.index(n)] - hi[names.index(n)])):.1e}"
            for n in near) + " inside its bound (near it, not on it: not held)")
    # verdict
    d_step = case["descent"]
    nd, ns = diag["newton_from_descent"], diag["newton_from_scipy"]
    d_kkt = (kd["pg_inf"] <= 100 * max(ks["pg_inf"], 1e-300) and not kd["wrong_sign"]
             and nd["moved_rel"] <= 1e-6 and nd["inside"])
    sp_ok = not ks["wrong_sign"] and ns["moved_rel"] <= 1e-6 and ns["inside"] and ns["min_hess_eig"] > 0
    stays = diag.get("descent_from_scipy", {}).get("moved_rel", 1.0) <= 1e-6
    back = diag["scipy_from_descent"]["dist_to_scipy_rel"] <= 1e-6
    parts = []
    if not d_kkt:
        parts.append("descent stopped short: its answer is not a KKT point (|proj grad|"
                     f" {kd['pg_inf']:.1e} vs SciPy's {ks['pg_inf']:.1e}"
                     + (f", wrong-sign multiplier on {kd['wrong_sign']}" if kd["wrong_sign"] else "")
                     + (", Newton on its free parameters moves it" if nd["moved_rel"] > 1e-6 else
                        f", gradient over its free parameters {kd['free_grad_inf']:.1e}")
                     + ")" + (", it is the (projected) start unchanged" if np.array_equal(dp, p0s) else "")
                     + f", yet it reported {d_step['termination']} converged={d_step['converged']} after"
                     f" {d_step['iterations']} iterations / {d_step['f_evals']} evaluations")
    else:
        parts.append("both answers are KKT points (different local minima)")
    if sp_ok:
        parts.append("SciPy's answer is a verified constrained minimum (KKT, Newton on its free"
                     " parameters stays, positive-definite)" + (", and descent stays there when started"
                                                                " there" if stays else
                                                                ", but descent started there moves"))
    if not d_kkt:
        parts.append("SciPy restarted at descent's answer " + (
            "returns to its own answer" if back else
            f"goes to another point (cost {diag['scipy_from_descent']['cost']:.12g}: several local minima)"))
    v = "VERDICT: " + "; ".join(parts)
    notes.insert(0, v)
    case["verdict"] = v
    case["diagnosis"] = diag
    return notes


def bounded_cases(args, datasets):
    cases = []
    for mdl in MODELS:
        spec = BOX_SPECS[mdl.name]
        ds = datasets[mdl.name]
        p0a = mdl.p0 if spec["p0_active"] is None else np.array(spec["p0_active"], float)
        # linear loss (curve_fit with bounds): unweighted outlier data and sigma-weighted data
        for suffix in ("_outl", "_wt"):
            path, x, y, sigma = ds[suffix]
            cases.append(bounded_case(args, "active", mdl.name + suffix, mdl, path, x, y, sigma,
                                      spec["active"], p0a))
        path, x, y, sigma = ds["_wt"]
        cases.append(bounded_case(args, "inactive", mdl.name + "_wt", mdl, path, x, y, sigma,
                                  spec["inactive"], mdl.p0))
        # robust losses with the active box: unweighted (f_scale = the noise level) and
        # weighted with outliers (f_scale = 1 sigma)
        for suffix, fm in (("_outl", 1.0), ("_wt_outl", 1.0)):
            path, x, y, sigma = ds[suffix]
            C = fm * (mdl.noise if sigma is None else 1.0)
            for loss in BOUNDED_LOSSES:
                cases.append(bounded_case(args, "robust", mdl.name + suffix, mdl, path, x, y, sigma,
                                          spec["active"], p0a, loss=loss, C=C, fmult=fm))
        # a start outside the box: descent raw, SciPy np.clip
        path, x, y, sigma = ds["_wt"]
        cases.append(bounded_case(args, "outside", mdl.name + "_wt", mdl, path, x, y, sigma,
                                  spec["active"], spec["outside"]))
        path, x, y, sigma = ds["_outl"]
        cases.append(bounded_case(args, "outside", mdl.name + "_outl", mdl, path, x, y, sigma,
                                  spec["active"], spec["outside"], loss="huber", C=mdl.noise, fmult=1.0))
    return cases


def fmt_bounded_table(cases):
    hdr = ["dataset", "group", "loss", "box", "p0 out", "active scipy", "active descent", "same",
           "maxrel p", "se chk", "status", "cost descent", "cost scipy", "|pg| dsc/sp",
           "dsc it/fev/jev", "scipy nfev/njev"]
    rows = []
    for c in cases:
        d, s = c.get("descent", {}), c["scipy"]
        loss = c["loss"] + ("+w" if c["weighted"] else "")
        if c["loss"] != "linear":
            loss += f" C={c['f_scale']:.3g}"
        se = "-"
        if "maxrel_stderr" in c:
            se = f"{c['maxrel_stderr']:.0e}"
            if "maxrel_stderr_vs_curve_fit" in c:
                se += f"/cf {c['maxrel_stderr_vs_curve_fit']:.0e}"
        rows.append([c["dataset"], c["group"], loss, c["bounds_arg"], "yes" if c["start_outside"] else "-",
                     ",".join(s.get("active", [])) or "-", ",".join(d.get("active", [])) or "-",
                     ("yes" if c.get("active_same") else "NO") if "active_same" in c else "-",
                     f"{c.get('maxrel', float('nan')):.1e}", se, c["status"],
                     f"{c['py_cost_descent']:.10g}" if "py_cost_descent" in c else "-",
                     f"{c['py_cost_scipy']:.10g}" if "py_cost_scipy" in c else "-",
                     (f"{c['kkt_descent']['pg_inf']:.0e}/{c['kkt_scipy']['pg_inf']:.0e}"
                      if "kkt_descent" in c else "-"),
                     f"{d.get('iterations', '-')}/{d.get('f_evals', '-')}/{d.get('jac_evals', '-')}",
                     f"{s.get('nfev', '-')}/{s.get('njev', '-')}"])
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)), "  ".join("-" * x for x in w)]
    for r in rows:
        out.append("  ".join(v.ljust(w[i]) for i, v in enumerate(r)))
    return "\n".join(out)


def eval_summary(cases):
    """Medians of descent's f_evals / jac_evals and SciPy's nfev / njev over the bounded
    cases both ran, per group: over all of them, and over those where the two agree (PASS)
    - a fit that stops early (a FAIL) spends few evaluations, which flatters the first."""
    ran = [c for c in cases if "descent" in c and c["scipy"].get("nfev", -1) >= 0]
    lines, stats = [], {}
    for label, sel in (("all cases", ran), ("agreeing (PASS) cases only", [c for c in ran if c["status"] == "PASS"])):
        lines.append(f" {label}:")
        stats[label] = {}
        for g in ("all", "active", "inactive", "robust", "outside"):
            cs = [c for c in sel if g == "all" or c["group"] == g]
            if not cs:
                continue
            df = np.array([c["descent"]["f_evals"] for c in cs], float)
            dj = np.array([c["descent"]["jac_evals"] for c in cs], float)
            sf = np.array([c["scipy"]["nfev"] for c in cs], float)
            sj = np.array([c["scipy"]["njev"] for c in cs], float)
            st = {"n": len(cs), "descent_f_evals_median": float(np.median(df)),
                  "descent_jac_evals_median": float(np.median(dj)),
                  "scipy_nfev_median": float(np.median(sf)), "scipy_njev_median": float(np.median(sj)),
                  "ratio_of_medians_f": float(np.median(df) / np.median(sf)),
                  "median_of_ratios_f": float(np.median(df / sf)),
                  "ratio_of_medians_jac": float(np.median(dj) / np.median(sj)),
                  "descent_fewer_f": int(np.sum(df < sf)), "equal_f": int(np.sum(df == sf))}
            stats[label][g] = st
            lines.append(f"  {g:9s} n={st['n']:2d}  f evals: descent {st['descent_f_evals_median']:g}"
                         f" vs SciPy nfev {st['scipy_nfev_median']:g} -> ratio {st['ratio_of_medians_f']:.2f}"
                         f" (median per-case ratio {st['median_of_ratios_f']:.2f}; descent fewer in"
                         f" {st['descent_fewer_f']}, equal in {st['equal_f']});  jac: descent"
                         f" {st['descent_jac_evals_median']:g} vs SciPy njev {st['scipy_njev_median']:g}"
                         f" -> {st['ratio_of_medians_jac']:.2f}")
    return "\n".join(lines), stats


# ----------------------------------------------------------------------------- golden
def build_golden(args, rng_seed):
    """One small (20-point) data set inline, SciPy references for all 5 losses at one
    f_scale (unweighted) and curve_fit weighted params + std errors (abs sigma F/T)."""
    mdl = MODEL_BY_NAME["expdecay"]
    rng = np.random.default_rng(rng_seed + 1000)
    x, y, sigma = make_weighted_data(rng, mdl, m=20, outliers=2)
    csv_path = os.path.join(args.out_dir, "golden_expdecay.csv")
    write_csv(csv_path, x, y, sigma)
    C = 1.0 * mdl.noise
    g = {"description": "descent fit vs SciPy golden values; data set expdecay (20 points, "
                        "heteroscedastic sigma x10, 2 outliers). Robust fits are UNWEIGHTED "
                        "(sigma column not used), residual r = y - model, cost = 0.5*C^2*sum(rho((r/C)^2)). "
                        "Weighted fits are curve_fit(sigma=sigma, absolute_sigma=...), linear loss. "
                        "'params' are SciPy's answers; 'params_newton_polished' are the exact local minimizers "
                        "(Newton on the cost from SciPy's answer, gradient ~1e-15). SciPy and descent both stop "
                        "on a relative cost change of ~1e-15, which bounds parameter accuracy to "
                        "~sqrt(1e-15*cost/curvature): up to ~1e-6 relative on the slowly (linearly) converging "
                        "linear-loss fit of this data set, ~1e-8 elsewhere.",
         "model": mdl.expr, "params_order": mdl.pnames, "p0": dict(zip(mdl.pnames, mdl.p0.tolist())),
         "x": x.tolist(), "y": y.tolist(), "sigma": sigma.tolist(), "f_scale": C,
         "scipy_settings": {"least_squares": "method='trf', jac=analytic, ftol=xtol=gtol=1e-15, max_nfev=100000",
                            "curve_fit": "method='lm' (MINPACK), jac=analytic, ftol=xtol=gtol=1e-15 (or as noted)"},
         "robust": {}, "weighted": {}}
    cases = []
    for loss in LOSSES:
        c = robust_case(args, "golden_expdecay", mdl, csv_path, x, y, None, loss, C, 1.0)
        cases.append(c)
        g["robust"][loss] = {"params": dict(zip(mdl.pnames, c["scipy"]["params"])),
                             "cost": c["scipy"]["cost"],
                             "params_newton_polished": dict(zip(mdl.pnames, c["newton_ref"]["params"])),
                             "cost_newton_polished": c["newton_ref"]["cost"],
                             "scipy_maxrel_vs_polished": c["newton_ref_maxrel_scipy"],
                             "descent_maxrel_vs_polished": c["newton_ref_maxrel_descent"],
                             "grad_inf_at_scipy": c["grad_inf_scipy"],
                             "descent_maxrel_vs_scipy": c.get("maxrel")}
    for ab in (False, True):
        c = weighted_case(args, "golden_expdecay", mdl, csv_path, x, y, sigma, ab)
        cases.append(c)
        g["weighted"]["absolute_sigma_" + str(ab).lower()] = {
            "params": dict(zip(mdl.pnames, c["scipy"]["params"])),
            "std_errors": dict(zip(mdl.pnames, c["scipy"]["std_errors"])),
            "params_newton_polished": dict(zip(mdl.pnames, c["newton_ref"]["params"])),
            "scipy_maxrel_vs_polished": c["newton_ref_maxrel_scipy"],
            "covariance": c["scipy"]["cov"], "curve_fit_tol": c["scipy"]["tol"],
            "descent_maxrel_params": c.get("maxrel"), "descent_maxrel_std_errors": c.get("maxrel_stderr")}
    return g, cases


# ----------------------------------------------------------------------------- main
def fmt_table(cases):
    hdr = ["dataset", "kind/loss", "f_scale", "maxrel p", "maxrel se", "status",
           "cost descent", "cost scipy", "dsc it/fev", "scipy nfev/njev", "vs Newton dsc/sp"]
    rows = []
    for c in cases:
        kind = c["loss"] if c["kind"] == "robust" else ("cf abs=" + ("T" if c["absolute_sigma"] else "F"))
        if c["kind"] == "robust" and c.get("weighted"):
            kind += "+w"
        if c["kind"] == "weighted" or c["loss"] == "linear":
            fs = "-"
        else:
            fs = f"{c['f_scale']:.3g} ({c['f_scale_rel_noise']:g}" + ("sig)" if c.get("weighted") else "*noise)")
        d = c.get("descent", {})
        s = c["scipy"]
        rows.append([c["dataset"], kind, fs, f"{c.get('maxrel', float('nan')):.1e}",
                     f"{c['maxrel_stderr']:.1e}" if "maxrel_stderr" in c else "-",
                     c["status"],
                     f"{c['py_cost_descent']:.10g}" if "py_cost_descent" in c else "-",
                     f"{c['py_cost_scipy']:.10g}" if "py_cost_scipy" in c else f"{s['cost']:.10g}",
                     f"{d.get('iterations', '-')}/{d.get('f_evals', '-')}",
                     f"{s['nfev']}/{s.get('njev', '-')}",
                     (f"{c['newton_ref_maxrel_descent']:.0e}/{c['newton_ref_maxrel_scipy']:.0e}"
                      if "newton_ref_maxrel_descent" in c else "-")])
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)), "  ".join("-" * x for x in w)]
    for r in rows:
        out.append("  ".join(v.ljust(w[i]) for i, v in enumerate(r)))
    return "\n".join(out)


def case_label(c):
    if c["kind"] == "robust":
        return c["loss"]
    if c["kind"] == "weighted":
        return f"curve_fit abs={c['absolute_sigma']}"
    return (f"bounded[{c['group']}] {c['loss']}{'+w' if c['weighted'] else ''} --bounds {c['bounds_arg']}"
            + (f" start {c['p0']} (SciPy {c['p0_scipy']})" if c["start_outside"] else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--descent", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "descent"))
    ap.add_argument("--out-dir", default=os.path.join(tempfile.gettempdir(), "descent_fit_bench"))
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--json", dest="json_out", default=None, help="write all cases (with SciPy references) here")
    ap.add_argument("--golden", default=None,
                    help="golden file written when --json is given")
    ap.add_argument("-v", "--verbose", action="store_true", help="print descent command lines of failures")
    ap.add_argument("--descent-arg", action="append", default=[],
                    help="extra argument for every descent fit, e.g. --descent-arg=--method=trf")
    ap.add_argument("--bounded-only", action="store_true",
                    help="run only the bounded-fit cases (--bounds); the data sets are the same")
    args = ap.parse_args()
    EXTRA_ARGS.extend(a for arg in args.descent_arg for a in arg.split("=", 1))
    os.makedirs(args.out_dir, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    cases = []
    datasets = {}  # model -> suffix -> (csv path, x, y, sigma), reused by the bounded cases
    run_old = not args.bounded_only
    for mdl in MODELS:
        datasets[mdl.name] = dsets = {}
        # robust: unweighted data with ~10% gross outliers
        x, y, _ = make_outlier_data(rng, mdl)
        ds = mdl.name + "_outl"
        path = os.path.join(args.out_dir, ds + ".csv")
        write_csv(path, x, y, None)
        dsets["_outl"] = (path, x, y, None)
        if run_old:
            cases.append(robust_case(args, ds, mdl, path, x, y, None, "linear", 1.0, float("nan")))
            for fm in FSCALE_MULTS:
                for loss in LOSSES[1:]:
                    cases.append(robust_case(args, ds, mdl, path, x, y, None, loss, fm * mdl.noise, fm))
        # weighted: heteroscedastic sigma (x10), no outliers; curve_fit comparison
        x, y, sigma = make_weighted_data(rng, mdl)
        ds = mdl.name + "_wt"
        path = os.path.join(args.out_dir, ds + ".csv")
        write_csv(path, x, y, sigma)
        dsets["_wt"] = (path, x, y, sigma)
        if run_old:
            for ab in (False, True):
                cases.append(weighted_case(args, ds, mdl, path, x, y, sigma, ab))
        # robust + weighted: sigma column and outliers, residuals r/sigma with a loss
        x, y, sigma = make_weighted_data(rng, mdl, outliers=max(1, mdl.m // 10))
        ds = mdl.name + "_wt_outl"
        path = os.path.join(args.out_dir, ds + ".csv")
        write_csv(path, x, y, sigma)
        dsets["_wt_outl"] = (path, x, y, sigma)
        if run_old:
            for loss in LOSSES[1:]:
                # residuals are in units of sigma, so f_scale=1 means "1 sigma"
                cases.append(robust_case(args, ds, mdl, path, x, y, sigma, loss, 1.0, 1.0))

    golden = None
    if run_old:
        golden, gcases = build_golden(args, args.seed)
        cases += gcases
        print(fmt_table(cases))

    # bounded fits (--bounds): curve_fit / least_squares with bounds (method 'trf')
    bcases = bounded_cases(args, datasets)
    cases += bcases
    print("\nBounded fits (--bounds) vs SciPy trf with bounds; 'active' = on a bound"
          f" (SciPy: within {ACTIVE_ATOL:g}*max(1,|bound|); descent: its active_bounds);"
          " 'se chk' = descent's std errors vs the free-column formula at its answer (/cf: vs curve_fit's,"
          " box inactive); |pg| = inf-norm of the projected gradient of the cost")
    print(fmt_bounded_table(bcases))
    evtext, evstats = eval_summary(bcases)
    print("\nEvaluations on the bounded cases (medians; descent's jac_evals include the one for the"
          " covariance; descent's f_evals include geodesic acceleration's):")
    print(evtext)
    fails = [c for c in cases if c["status"] != "PASS"]
    if fails:
        print("\nFailures:")
        for c in fails:
            kind = case_label(c)
            print(f"  {c['dataset']} {kind} f_scale={c['f_scale']:.3g}: maxrel {c.get('maxrel', float('nan')):.2e}"
                  f" -- {c.get('note', '')}")
            if "descent" in c:
                print(f"     descent: {c['descent'].get('termination')} converged={c['descent'].get('converged')}"
                      f" params={c['descent']['params']}")
            print(f"     scipy:   params={c['scipy']['params']} status={c['scipy'].get('status', c['scipy'].get('ier'))}")
            if args.verbose and c.get("descent_cmd"):
                print("     " + " ".join(repr(a) if " " in a or "*" in a else a for a in c["descent_cmd"]))
    notes = [c for c in cases if c["status"] == "PASS" and c.get("note")]
    if notes:
        print("\nNotes on passing cases:")
        for c in notes:
            print(f"  {c['dataset']} {case_label(c)}: {c['note']}")
    npass = len(cases) - len(fails)
    print(f"\n{npass} passed, {len(fails)} failed")

    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"param_rtol": PARAM_RTOL, "stderr_rtol": STDERR_RTOL, "seed": args.seed,
                       "bounded_eval_medians": evstats, "cases": cases}, fh, indent=1)
        print(f"wrote {args.json_out}")
    if args.golden and golden is not None:
        with open(args.golden, "w") as fh:
            json.dump(golden, fh, indent=1)
        print(f"wrote {args.golden}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
