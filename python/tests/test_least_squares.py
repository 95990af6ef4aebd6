"""descent.least_squares and curve_fit: certified values (NIST StRD), SciPy's results."""

import numpy as np
import pytest
from scipy.optimize import curve_fit as scipy_curve_fit
from scipy.optimize import least_squares as scipy_least_squares

import descent
from conftest import read_nist


def rosen_residuals(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def rosen_jacobian(x):
    return np.array([[-20 * x[0], 10.0], [-1.0, 0.0]])


@pytest.mark.parametrize("name", ["Misra1a", "Thurber", "MGH09", "BoxBOD", "Eckerle4"])
@pytest.mark.parametrize("method", ["trf", "lm"])
def test_nist_certified_values(name, method):
    x, y, starts, cert, sd, rss = read_nist(name)
    models = {
        "Misra1a": lambda b, x: b[0] * (1 - np.exp(-b[1] * x)),
        "Thurber": lambda b, x: (b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3)
        / (1 + b[4] * x + b[5] * x**2 + b[6] * x**3),
        "MGH09": lambda b, x: b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3]),
        "BoxBOD": lambda b, x: b[0] * (1 - np.exp(-b[1] * x)),
        "Eckerle4": lambda b, x: (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2),
    }
    model = models[name]
    res = descent.least_squares(lambda b: model(b, x) - y, starts[1], method=method,
                                jac="3-point", ftol=1e-15, xtol=1e-15, gtol=1e-15)
    np.testing.assert_allclose(2 * res.cost, rss, rtol=1e-6)
    np.testing.assert_allclose(res.x, cert, rtol=1e-5)


@pytest.mark.parametrize("loss", ["linear", "soft_l1", "huber", "cauchy", "arctan"])
@pytest.mark.parametrize("method", ["trf", "lm"])
def test_same_fit_as_scipy_with_each_loss(loss, method, rng):
    t = np.linspace(0, 10, 60)
    y = 3 * np.exp(-0.4 * t) + 0.5 + 0.05 * rng.normal(size=t.size)
    y[::13] += 2  # outliers
    method_scipy = "trf" if (method == "lm" and loss != "linear") else method

    def fun(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    # Tight tolerances: both tools then stop at the minimum, not wherever ftol = 1e-8 is
    # first met along their different paths.
    tight = dict(ftol=1e-14, xtol=1e-14, gtol=1e-14, loss=loss, f_scale=0.1)
    ours = descent.least_squares(fun, [1, 1, 0], method=method, **tight)
    theirs = scipy_least_squares(fun, [1, 1, 0], method=method_scipy, **tight)
    np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.cost, theirs.cost, rtol=1e-7)
    np.testing.assert_allclose(ours.fun, theirs.fun, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.grad, theirs.grad, atol=1e-5)
    assert ours.success and ours.status > 0


def test_callable_loss_as_scipy():
    def cauchy(z):
        rho = np.empty((3, z.size))
        rho[0], rho[1], rho[2] = np.log1p(z), 1 / (1 + z), -1 / (1 + z) ** 2
        return rho

    ours = descent.least_squares(rosen_residuals, [-1.2, 1], loss=cauchy)
    named = descent.least_squares(rosen_residuals, [-1.2, 1], loss="cauchy")
    np.testing.assert_allclose(ours.x, [1, 1], atol=1e-7)
    np.testing.assert_allclose(ours.x, named.x, atol=1e-7)


def test_bounds_and_active_mask_as_scipy():
    kw = dict(jac=rosen_jacobian, bounds=([-np.inf, 1.5], np.inf))
    ours = descent.least_squares(rosen_residuals, [2.0, 2.0], **kw)
    theirs = scipy_least_squares(rosen_residuals, [2.0, 2.0], **kw)
    np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-6)
    assert list(ours.active_mask) == [0, -1] == list(theirs.active_mask)
    np.testing.assert_allclose(ours.optimality, theirs.optimality, atol=1e-6)
    with pytest.raises(ValueError, match="infeasible"):
        descent.least_squares(rosen_residuals, [-1.2, 1.0], **kw)


def test_x_scale_and_max_nfev():
    res = descent.least_squares(rosen_residuals, [-1.2, 1], x_scale=[1, 10])
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-8)
    res = descent.least_squares(rosen_residuals, [-1.2, 1], max_nfev=3)
    assert res.status == 0 and res.nfev <= 4 and not res.success


def test_exception_in_residuals_reaches_the_caller():
    def fun(x):
        if x[0] > 0:
            raise ZeroDivisionError("inside the model")
        return rosen_residuals(x)

    with pytest.raises(ZeroDivisionError, match="inside the model"):
        descent.least_squares(fun, [-1.2, 1])


def model(x, a, b, c):
    return a * np.exp(-b * x) + c


@pytest.fixture
def decay(rng):
    x = np.linspace(0, 4, 50)
    return x, model(x, 2.5, 1.3, 0.5) + 0.2 * rng.normal(size=50)


@pytest.mark.parametrize("kw", [
    {},
    {"p0": [1, 1, 1]},
    {"sigma": np.full(50, 0.2), "absolute_sigma": True},
    {"sigma": np.linspace(0.1, 0.3, 50)},
    {"bounds": (0, [3, 1, 0.5])},
    {"sigma": np.diag(np.linspace(0.1, 0.3, 50) ** 2)},
])
def test_curve_fit_as_scipy(decay, kw):
    x, y = decay
    popt, pcov = descent.curve_fit(model, x, y, **kw)
    # SciPy at tight tolerances: at its default 1.49e-8 it can stop 1e-5 short.
    sopt, scov = scipy_curve_fit(model, x, y, ftol=1e-14, xtol=1e-14, gtol=1e-14, **kw)
    np.testing.assert_allclose(popt, sopt, rtol=1e-5)
    np.testing.assert_allclose(pcov, scov, rtol=1e-3)


def test_curve_fit_full_output_and_errors(decay):
    x, y = decay
    popt, pcov, info, mesg, ier = descent.curve_fit(model, x, y, full_output=True)
    assert ier in (1, 2, 3, 4) and info["fvec"].shape == (50,) and isinstance(mesg, str)
    with pytest.raises(ValueError, match="infs or NaNs"):
        descent.curve_fit(model, x, np.where(x > 2, np.nan, y))
    with pytest.raises(RuntimeError, match="Optimal parameters not found"):
        descent.curve_fit(model, x, y, maxfev=2)


def test_two_variables_with_lb_ub_bounds_are_not_read_as_pairs():
    # (lb, ub) with n = 2 is two arrays, not two (min, max) pairs.
    res = descent.least_squares(rosen_residuals, [2.0, 2.0], bounds=([0, 1.5], [3, 5]))
    theirs = scipy_least_squares(rosen_residuals, [2.0, 2.0], bounds=([0, 1.5], [3, 5]))
    np.testing.assert_allclose(res.x, theirs.x, rtol=1e-6)
    popt, _ = descent.curve_fit(lambda x, a, b: a * x + b, [1, 2, 3, 4], [3, 5, 7, 9])
    np.testing.assert_allclose(popt, [2, 1], rtol=1e-10)


def test_sparse_and_operator_jacobians():
    sparse = pytest.importorskip("scipy.sparse")
    from scipy.sparse.linalg import aslinearoperator

    ours = descent.least_squares(rosen_residuals, [-1.2, 1],
                                 jac=lambda x: sparse.csr_matrix(rosen_jacobian(x)))
    assert sparse.issparse(ours.jac)
    np.testing.assert_allclose(ours.x, [1, 1], atol=1e-8)
    op = descent.least_squares(rosen_residuals, [-1.2, 1],
                               jac=lambda x: aslinearoperator(rosen_jacobian(x)))
    np.testing.assert_allclose(op.x, [1, 1], atol=1e-8)
    with pytest.raises(ValueError, match="dense Jacobian"):
        descent.least_squares(rosen_residuals, [-1.2, 1], method="lm",
                              jac=lambda x: aslinearoperator(rosen_jacobian(x)))


def test_curve_fit_default_start_inside_the_bounds(decay):
    x, y = decay
    popt, _ = descent.curve_fit(model, x, y, bounds=(0, [3, 2, 0.6]))
    sopt, _ = scipy_curve_fit(model, x, y, bounds=(0, [3, 2, 0.6]), ftol=1e-14, xtol=1e-14,
                              gtol=1e-14)
    np.testing.assert_allclose(popt, sopt, rtol=1e-5)
    with pytest.raises(ValueError, match="outside of provided bounds"):
        descent.curve_fit(model, x, y, p0=[5, 1, 0], bounds=(0, [3, 2, 0.6]))


@pytest.mark.parametrize("bounds", [(-10, 10), (0, [3, 2, 0.6])])
def test_curve_fit_lm_with_bounds_reaches_scipy_s_bounded_fit(decay, bounds):
    # SciPy's lm takes no bounds; descent's does (a step the box cuts is shortened to
    # it). Bounds that do not bind must not stop the fit early (they once made every
    # step look cut: curve_fit raised on trust_region_too_small).
    x, y = decay
    popt, pcov = descent.curve_fit(model, x, y, method="lm", bounds=bounds)
    sopt, scov = scipy_curve_fit(model, x, y, bounds=bounds, ftol=1e-14, xtol=1e-14,
                                 gtol=1e-14)
    np.testing.assert_allclose(popt, sopt, rtol=1e-5)
    np.testing.assert_allclose(pcov, scov, rtol=1e-3)


def test_integer_data_and_lm_jacobian_counts_as_scipy():
    # check_finite=False kept integer xdata as integers (x**-1 raised); SciPy takes
    # float64 either way. lm with a callable jac counts its Jacobians (it said None).
    def inverse(x, a, b):
        return a * x ** (-1) + b

    x = np.array([1, 2, 3, 4, 5])
    popt, _ = descent.curve_fit(inverse, x, 3 / x + 1, check_finite=False)
    np.testing.assert_allclose(popt, [3, 1], rtol=1e-10)
    res = descent.least_squares(rosen_residuals, [0.0, 0.0], jac=rosen_jacobian, method="lm")
    assert isinstance(res.njev, int) and res.njev >= 1
    assert descent.least_squares(rosen_residuals, [0.0, 0.0], method="lm").njev is None
