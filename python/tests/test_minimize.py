"""descent.minimize against known minima, SciPy's results and SciPy's interface rules."""

import warnings

import numpy as np
import pytest
from scipy.optimize import Bounds, OptimizeWarning, rosen, rosen_der, rosen_hess, rosen_hess_prod
from scipy.optimize import minimize as scipy_minimize

import descent

X0 = np.array([-1.2, 1.0])
SCIPY_NAMES = ["L-BFGS-B", "BFGS", "CG", "Newton-CG", "trust-ncg", "trust-exact", "dogleg"]
NEEDS_HESS = {"Newton-CG", "trust-ncg", "trust-exact", "dogleg"}


@pytest.mark.parametrize("method", SCIPY_NAMES + [None])
def test_scipy_names_reach_the_rosenbrock_minimum(method):
    kw = {"hess": rosen_hess} if method in NEEDS_HESS else {}
    res = descent.minimize(rosen, X0, jac=rosen_der, method=method, **kw)
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-6)
    assert res.fun < 1e-10
    # SciPy's counts: one call of fun per value, of jac per gradient.
    assert res.nfev >= res.nit and res.njev >= 1
    np.testing.assert_allclose(res.jac, rosen_der(res.x), atol=1e-8)


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG", "trust-exact"])
def test_same_minimum_as_scipy_on_a_quartic(method):
    # A smooth function with one minimum: both tools land on it.
    def f(x):
        return np.sum((x - np.arange(4)) ** 4) + np.sum((x - np.arange(4)) ** 2)

    def g(x):
        d = x - np.arange(4)
        return 4 * d**3 + 2 * d

    def h(x):
        return np.diag(12 * (x - np.arange(4)) ** 2 + 2)

    kw = {"hess": h} if method == "trust-exact" else {}
    ours = descent.minimize(f, np.zeros(4), jac=g, method=method, **kw)
    theirs = scipy_minimize(f, np.zeros(4), jac=g, method=method, **kw)
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)
    np.testing.assert_allclose(ours.x, np.arange(4), atol=1e-6)


def test_every_descent_method_minimizes_a_quadratic():
    a = np.array([1.0, 3.0, 10.0])

    def fg(x):
        return 0.5 * np.sum(a * x**2), a * x

    for m in descent.methods():
        if "objective" not in m["applies_to"]:
            continue
        opts = {"maxiter": 20000}
        res = descent.minimize(fg, np.ones(3), jac=True, method=m["name"], options=opts)
        assert res.fun < 1e-6, (m["name"], res.fun, res.termination)


@pytest.mark.parametrize("jac", [True, rosen_der, None, False, "2-point", "3-point", "cs"])
def test_every_jac_form(jac):
    fun = (lambda x: (rosen(x), rosen_der(x))) if jac is True else rosen
    res = descent.minimize(fun, X0, jac=jac, method="BFGS")
    tol = 1e-6 if jac in (True, rosen_der, "cs") else 1e-3
    np.testing.assert_allclose(res.x, [1, 1], atol=tol)
    if jac in (None, False, "2-point"):
        # Finite differences call fun n more times per gradient.
        assert res.nfev >= 3 * res.njev


def test_hessp_and_args():
    def f(x, c):
        return rosen(x) + c

    res = descent.minimize(f, X0, args=(5.0,), jac=lambda x, c: rosen_der(x),
                           hessp=lambda x, p, c: rosen_hess_prod(x, p), method="trust-ncg")
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-6)
    assert res.fun == pytest.approx(5.0)
    assert res.nhev > 0


@pytest.mark.parametrize("form", ["pairs", "Bounds", "None-sides"])
def test_bounds_never_evaluated_outside(form):
    lo, hi = np.array([-2.0, 1.5]), np.array([0.5, 3.0])
    outside = []

    def f(x):
        if np.any(x < lo) or np.any(x > hi):
            outside.append(x.copy())
        return rosen(x)

    bounds = {
        "pairs": list(zip(lo, hi)),
        "Bounds": Bounds(lo, hi),
        "None-sides": [(-2.0, 0.5), (1.5, None)],
    }[form]
    res = descent.minimize(f, X0, jac=rosen_der, bounds=bounds)
    theirs = scipy_minimize(rosen, np.clip(X0, lo, hi), jac=rosen_der, bounds=bounds,
                            method="L-BFGS-B")
    assert not outside
    np.testing.assert_allclose(res.x, theirs.x, atol=1e-6)
    assert list(res.active_bounds) == [1]  # x2 sits on its lower bound 1.5


def test_start_outside_the_box_is_moved_onto_it():
    res = descent.minimize(rosen, [5.0, 5.0], jac=rosen_der, bounds=[(-1, 2), (-1, 2)])
    assert list(res.x0_moved) == [0, 1]
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-6)


def test_a_method_that_cannot_keep_to_a_box_is_refused():
    with pytest.raises(ValueError, match="bounds|box"):
        descent.minimize(rosen, X0, jac=rosen_der, method="newton", bounds=[(0, 1), (0, 1)])


def test_both_callback_forms_and_stop_iteration():
    seen = []
    descent.minimize(rosen, X0, jac=rosen_der, callback=lambda xk: seen.append(xk.copy()))
    assert len(seen) > 5 and np.allclose(seen[-1], [1, 1], atol=1e-5)

    calls = []

    def new_style(intermediate_result):
        calls.append(intermediate_result.fun)
        if len(calls) == 3:
            raise StopIteration

    res = descent.minimize(rosen, X0, jac=rosen_der, callback=new_style)
    assert len(calls) == 3 and res.nit == 3
    assert not res.success and res.status == 99


def test_an_exception_in_fun_reaches_the_caller_with_its_traceback():
    class Boom(Exception):
        pass

    def f(x):
        if x[0] > -1.0:
            raise Boom("from inside fun")
        return rosen(x)

    with pytest.raises(Boom, match="from inside fun") as info:
        descent.minimize(f, X0, jac=rosen_der)
    assert any(t.name == "f" for t in info.traceback)


def test_nan_outside_the_domain_is_stepped_back_from():
    # log is NaN for x ≤ 0: the line search backs off, as in the CLI.
    def f(x):
        with np.errstate(invalid="ignore"):
            return float(np.sum(x - np.log(x)))

    res = descent.minimize(f, [5.0, 0.1], jac=lambda x: 1 - 1 / x, method="BFGS")
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-6)


def test_a_start_where_f_is_not_finite_is_a_failed_result_with_its_value():
    # As SciPy: no exception; `fun` is the value there (inf stays inf, not NaN).
    for value in (np.inf, np.nan):
        for jac in (None, True):
            fun = (lambda x: (value, np.zeros(2))) if jac else (lambda x: value)
            res = descent.minimize(fun, [1.0, 2.0], jac=jac, method="BFGS")
            assert not res.success and res.status == 3 and res.nit == 0
            assert (np.isinf(res.fun) if np.isinf(value) else np.isnan(res.fun)), res.fun


def test_options_and_unknown_ones():
    res = descent.minimize(rosen, X0, jac=rosen_der, method="CG", options={"maxiter": 3})
    assert res.nit == 3 and res.status == 1 and not res.success
    with pytest.warns(OptimizeWarning, match="Unknown solver options: bogus"):
        descent.minimize(rosen, X0, jac=rosen_der, options={"bogus": 1})
    with pytest.warns(OptimizeWarning, match="not taken by descent's methods.*c2"):
        descent.minimize(rosen, X0, jac=rosen_der, method="BFGS", options={"c2": 0.5})
    with pytest.raises(ValueError, match="'c1' and 'c2'"):
        descent.minimize(rosen, X0, jac=rosen_der, method="CG", options={"c1": 0.9, "c2": 0.1})
    res = descent.minimize(rosen, X0, jac=rosen_der, method="L-BFGS-B",
                           options={"maxcor": 3, "gtol": 1e-12, "ftol": 0})
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-8)
    # descent's own settings go through options or the method string.
    a = descent.minimize(rosen, X0, jac=rosen_der, method="lbfgs", options={"memory": 2})
    b = descent.minimize(rosen, X0, jac=rosen_der, method="lbfgs:memory=2")
    assert a.nfev == b.nfev


def test_disp_prints_scipy_s_summary(capsys):
    # disp=True printed nothing.
    res = descent.minimize(rosen, X0, jac=rosen_der, method="BFGS", options={"disp": True})
    out = capsys.readouterr().out
    assert res.message in out and f"Iterations: {res.nit}" in out
    assert f"Function evaluations: {res.nfev}" in out
    descent.minimize(rosen, X0, jac=rosen_der, method="BFGS")
    assert capsys.readouterr().out == ""


def test_hess_inv_as_scipy_returns_it():
    res = descent.minimize(rosen, X0, jac=rosen_der, method="BFGS")
    assert isinstance(res.hess_inv, np.ndarray) and res.hess_inv.shape == (2, 2)
    # At the minimum, BFGS's H approximates the inverse Hessian.
    true = np.linalg.inv(rosen_hess(res.x))
    assert np.linalg.norm(res.hess_inv - true) < 0.2 * np.linalg.norm(true)
    res = descent.minimize(rosen, X0, jac=rosen_der, method="L-BFGS-B")
    h = res.hess_inv
    assert h.shape == (2, 2)
    v = np.array([1.0, -2.0])
    np.testing.assert_allclose(h.dot(v), h.todense() @ v, rtol=1e-12)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="Nelder-Mead|derivative-free"):
        descent.minimize(rosen, X0, method="Nelder-Mead")
    with pytest.raises(ValueError, match="unknown method|no-such"):
        descent.minimize(rosen, X0, method="no-such")
    with pytest.raises(ValueError, match="scalar"):
        descent.minimize(lambda x: x, X0)
    # As SciPy: a start where fun is NaN is a failed result, not an exception.
    res = descent.minimize(lambda x: float("nan"), X0, jac=lambda x: x)
    assert res.success is False and np.isnan(res.fun) and res.status == 3
    with pytest.raises(ValueError, match="gradient returned 3 values"):
        descent.minimize(rosen, X0, jac=lambda x: np.ones(3))
    with pytest.raises(ValueError, match="lower|upper|bound"):
        descent.minimize(rosen, X0, bounds=[(1, 0), (0, 1)])


def test_result_is_scipys_type_with_its_fields():
    from scipy.optimize import OptimizeResult

    res = descent.minimize(rosen, X0, jac=rosen_der)
    assert isinstance(res, OptimizeResult)
    for field in ("x", "fun", "jac", "nit", "nfev", "njev", "nhev", "status", "success",
                  "message", "termination"):
        assert field in res
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        descent.minimize(rosen, X0, jac=rosen_der)


def test_variables_fixed_by_equal_bounds():
    calls = []

    def f(x):
        calls.append(x.copy())
        return rosen(x)

    x0 = np.array([0.5, 2.0, 0.3, -1.0])
    bounds = [(0, 3), (2, 2), (-1, 2), (-1, -1)]
    res = descent.minimize(f, x0, jac=lambda x: rosen_der(x), bounds=bounds)
    theirs = scipy_minimize(rosen, x0, jac=rosen_der, bounds=bounds, method="L-BFGS-B")
    np.testing.assert_allclose(res.x, theirs.x, rtol=1e-5)
    assert res.x[1] == 2 and res.x[3] == -1
    assert all(c[1] == 2 and c[3] == -1 for c in calls)
    assert np.isnan(res.jac[[1, 3]]).all() and np.isfinite(res.jac[[0, 2]]).all()
    every = descent.minimize(rosen, [1.0, 2.0], bounds=[(1, 1), (2, 2)])
    assert every.nfev == 1 and every.message == "All independent variables were fixed by bounds."


def test_finite_differences_stop_at_scipys_gradient_tolerance():
    # A finite-difference gradient cannot reach descent's 1e-8: SciPy's 1e-5 applies.
    res = descent.minimize(rosen, X0, method="L-BFGS-B")
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-4)


def test_an_objective_that_writes_into_its_argument():
    # SciPy hands each call its own copy of x: the gradient (and every difference) is
    # taken where the value was.
    def f(x):
        v = ((x - 1) ** 2).sum()
        x[:] = 7.0
        return v

    for jac in (lambda x: 2 * (x - 1), None):
        res = descent.minimize(f, [5.0, -5.0], jac=jac, method="BFGS")
        assert res.success, res.message
        np.testing.assert_allclose(res.x, [1, 1], atol=1e-5)


def test_a_zero_difference_step_takes_scipys_own():
    res = descent.minimize(lambda x: ((x - 1) ** 2).sum(), [5.0, -5.0], method="BFGS",
                           options={"eps": 0})
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-4)
    fit = descent.least_squares(lambda p: p - np.array([1.0, 2.0]), [0.0, 0.0], diff_step=0)
    np.testing.assert_allclose(fit.x, [1, 2], atol=1e-8)


def test_dense_methods_refuse_matrices_beyond_memory():
    # BFGS at n = 200 000 would hold a 320 GB inverse Hessian: refused before it is made
    # (the process aborted); L-BFGS runs.
    n = 200_000
    with pytest.raises(ValueError, match="would need"):
        descent.minimize(lambda x: ((x - 1) ** 2).sum(), np.zeros(n), jac=lambda x: 2 * (x - 1),
                         method="BFGS")
    with pytest.raises(ValueError, match="would need"):
        descent.least_squares(lambda p: np.array([p.sum() - 1]), np.zeros(n),
                              jac=lambda p: np.ones((1, n)))
    res = descent.minimize(lambda x: ((x - 1) ** 2).sum(), np.zeros(n), jac=lambda x: 2 * (x - 1),
                           method="L-BFGS-B")
    assert res.success


def test_a_range_set_the_wrong_way_round_is_refused():
    with pytest.raises(ValueError, match="step_min"):
        descent.minimize(lambda x: (x ** 2).sum(), [1.0, 2.0], jac=lambda x: 2 * x,
                         method="irprop-:step_min=100:step_max=1")


def test_bounds_that_fix_a_variable_at_infinity_are_refused():
    with pytest.raises(ValueError, match="infinite value"):
        descent.minimize(rosen, [0.0, 0.0], bounds=[(np.inf, np.inf), (0, 1)])


def test_success_as_scipy_s_tests_read_it():
    # descent's tolerances are tighter than SciPy's: a run that went on past SciPy's
    # stopping point until f's precision ran out reported failure (status 2, "precision
    # loss") where SciPy, stopping earlier, reports success. Now SciPy's own tests decide:
    # ‖∇f‖∞ ≤ gtol (1e-5 unless given), and for L-BFGS the relative reduction of f in
    # the last iteration (ftol, 2.2e-9 unless given).
    A, b = np.diag([1000.0, 1.0]), np.ones(2)
    res = descent.minimize(lambda x: 0.5 * x @ A @ x - b @ x, [3, -7],
                           jac=lambda x: A @ x - b, method="CG")
    assert res.success and res.status == 0, (res.status, res.message, res.termination)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-8)
    # A step tolerance the user set is the user's test (it read as a stall).
    kw = dict(jac=rosen_der, hess=rosen_hess, method="Newton-CG", options={"xtol": 1e-2})
    ours, theirs = descent.minimize(rosen, [-1.2, 1], **kw), scipy_minimize(rosen, [-1.2, 1], **kw)
    assert ours.success == theirs.success is True
    # Over random ill-conditioned quadratics: status 2 only where SciPy's gradient test
    # fails too, and seldom where SciPy reports success (before: 29 of 200 CG runs,
    # 40 of 200 L-BFGS-B runs; now 9 and 11, where descent's line search runs out of
    # f's precision before SciPy's gradient test is met).
    rng = np.random.default_rng(1)
    failures = {"CG": 0, "BFGS": 0, "L-BFGS-B": 0}
    for _ in range(40):
        n = int(rng.integers(2, 30))
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        M = Q @ np.diag(np.logspace(0, rng.uniform(0, 6), n)) @ Q.T
        M = (M + M.T) / 2
        c = rng.standard_normal(n) * rng.choice([1e-3, 1, 1e3])
        x0 = rng.standard_normal(n) * 10
        for method in failures:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = descent.minimize(lambda x: 0.5 * x @ M @ x - c @ x, x0,
                                     jac=lambda x: M @ x - c, method=method)
            if r.status == 2:
                assert np.abs(r.jac).max() > 1e-5, (method, r.termination)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    theirs = scipy_minimize(lambda x: 0.5 * x @ M @ x - c @ x, x0,
                                            jac=lambda x: M @ x - c, method=method)
                failures[method] += theirs.success
    assert sum(failures.values()) <= 10, failures
