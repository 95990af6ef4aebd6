//! `least_squares`: descent's least-squares methods on Python residuals.

use crate::callbacks::{Failure, PyResiduals, PyWatch};
use crate::{bounds_for, check_tolerances, value_error};
use descent::least_squares::{minimize_least_squares, FitOptions, Robust, RobustLoss};
use descent::linalg::DenseMatrix;
use descent::{LeastSquares, MethodSpec, Start};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Fits `fun` (m residuals) from `x0` with `method` (`trf`, `lm`, `gn`, … with their
/// settings), `loss` at scale `f_scale`, within `bounds`, until MINPACK's tests with
/// `ftol`, `xtol`, `gtol` or `max_nfev` residual evaluations end it.
#[pyfunction]
#[pyo3(signature = (fun, jac, x0, m, method, bounds=None, loss="linear", f_scale=1.0,
    ftol=1e-8, xtol=1e-8, gtol=1e-8, max_nfev=None, callback=None))]
#[allow(clippy::too_many_arguments)] // SciPy's arguments, one to one
pub fn least_squares<'py>(
    py: Python<'py>,
    fun: Py<PyAny>,
    jac: Py<PyAny>,
    x0: PyReadonlyArray1<'py, f64>,
    m: usize,
    method: &str,
    bounds: Option<(Vec<f64>, Vec<f64>)>,
    loss: &str,
    f_scale: f64,
    ftol: f64,
    xtol: f64,
    gtol: f64,
    max_nfev: Option<u64>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut x0 = x0.as_slice()?.to_vec();
    let n = x0.len();
    check_tolerances(&[("ftol", ftol), ("xtol", xtol), ("gtol", gtol)])?;
    let spec = MethodSpec::parse(method).map_err(value_error)?;
    let loss = RobustLoss::parse(loss).map_err(value_error)?;
    let bounds = bounds_for(bounds, n)?;
    let defaults = FitOptions::default();
    let opts = spec.fit_options(&FitOptions {
        ftol,
        xtol,
        gtol,
        max_evals: max_nfev.unwrap_or(defaults.max_evals),
        bounds: bounds.clone(),
        ..defaults
    });
    let moved = bounds
        .as_ref()
        .map(|b| b.move_inside(&mut x0))
        .unwrap_or_default();
    let (summary, cost) = py.detach(move || -> PyResult<(descent::Summary, f64)> {
        let mut method = spec.build_least_squares(&opts).map_err(value_error)?;
        let failure = Failure::default();
        let plain = PyResiduals {
            n,
            m,
            residuals: fun,
            jacobian: jac,
            failure: &failure,
        };
        let robust = Robust::new(&plain, loss, f_scale).map_err(value_error)?;
        let problem: &dyn LeastSquares = if loss == RobustLoss::Linear {
            &plain
        } else {
            &robust
        };
        let mut watch = PyWatch {
            callback,
            failure: &failure,
            x: Vec::new(),
        };
        let outcome = minimize_least_squares(
            problem,
            method.as_mut(),
            Start::At(&x0),
            &opts.driver_options(),
            &mut watch,
        );
        if let Some(e) = failure.take() {
            return Err(e);
        }
        let s = outcome.map_err(|e| match e {
            descent::Error::NonFiniteStart(what) => PyValueError::new_err(format!(
                "the residuals are not finite at x0 ({what}); choose another start"
            )),
            other => value_error(other),
        })?;
        // SciPy's cost: ½Σρ (the run's f is the sum of squares of what it fitted).
        let cost = 0.5 * s.f;
        Ok((s, cost))
    })?;
    let out = PyDict::new(py);
    out.set_item("x", PyArray1::from_slice(py, &summary.x))?;
    out.set_item("cost", cost)?;
    out.set_item("nit", summary.iterations)?;
    out.set_item("nfev", summary.counts.f_evals)?;
    out.set_item("njev", summary.counts.j_evals)?;
    out.set_item("converged", summary.converged)?;
    out.set_item("termination", summary.termination.as_str())?;
    out.set_item("message", summary.termination.to_string())?;
    out.set_item("method", &summary.method)?;
    out.set_item("x0_moved", moved)?;
    Ok(out)
}

/// Covariance of fitted parameters from the Jacobian `jac` of the (weighted) residuals:
/// `s²(JᵀJ)⁻¹` with `s² = rss/(m − n)`, or `(JᵀJ)⁻¹` when `absolute` (σ known). `None`
/// when J is rank-deficient (or, without `absolute`, m ≤ n).
#[pyfunction]
pub fn covariance<'py>(
    py: Python<'py>,
    jac: PyReadonlyArray2<'py, f64>,
    rss: f64,
    absolute: bool,
) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
    let a = jac.as_array();
    let (m, n) = (a.nrows(), a.ncols());
    let mut j = DenseMatrix::zeros(m, n);
    for (o, v) in j.data.iter_mut().zip(a.iter()) {
        *o = *v;
    }
    let c = if absolute {
        descent::least_squares::absolute_covariance(&j)
    } else {
        descent::least_squares::covariance(&j, rss)
    };
    c.map(|c| {
        let rows: Vec<Vec<f64>> = c.data.chunks(n.max(1)).map(|r| r.to_vec()).collect();
        PyArray2::from_vec2(py, &rows).map_err(|e| PyValueError::new_err(e.to_string()))
    })
    .transpose()
}
