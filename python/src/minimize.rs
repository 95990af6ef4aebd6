//! `minimize`: any of descent's methods on a Python objective.

use crate::callbacks::{Failure, PyObjective, PyWatch};
use crate::{bounds_for, check_tolerances, value_error};
use descent::method::{AppliesTo, REGISTRY};
use descent::{minimize as run, InverseHessian, MethodSpec, Options};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::Duration;

/// What a run found, for the Python layer to dress as an `OptimizeResult`.
struct Found {
    summary: descent::Summary,
    moved: Vec<usize>,
    active: Vec<usize>,
    hess_inv: Option<InverseHessian>,
}

/// Runs `method` (a descent method spec, with `settings` applied) on the objective given
/// by `value` and `value_grad`, from `x0`, within `bounds` when given.
///
/// Unset tolerances and budgets are the method's defaults (the same as the CLI's).
/// `hess_inv` returns the method's model of the inverse Hessian (BFGS's matrix as
/// `hess_inv`, L-BFGS's pairs as `hess_inv_s` and `hess_inv_y`, one pair per row).
#[pyfunction]
#[pyo3(signature = (value, value_grad, x0, method, settings, bounds=None, hess=None, hessp=None,
    callback=None, gtol=None, ftol=None, xtol=None, max_iter=None, max_evals=None,
    time_limit=None, hess_inv=false))]
#[allow(clippy::too_many_arguments)] // SciPy's arguments, one to one
pub fn minimize<'py>(
    py: Python<'py>,
    value: Py<PyAny>,
    value_grad: Py<PyAny>,
    x0: PyReadonlyArray1<'py, f64>,
    method: &str,
    settings: Vec<(String, String)>,
    bounds: Option<(Vec<f64>, Vec<f64>)>,
    hess: Option<Py<PyAny>>,
    hessp: Option<Py<PyAny>>,
    callback: Option<Py<PyAny>>,
    gtol: Option<f64>,
    ftol: Option<f64>,
    xtol: Option<f64>,
    max_iter: Option<u64>,
    max_evals: Option<u64>,
    time_limit: Option<f64>,
    hess_inv: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut x0 = x0.as_slice()?.to_vec();
    let n = x0.len();
    let mut spec = MethodSpec::parse(method).map_err(value_error)?;
    for (k, v) in &settings {
        spec.set(k, v).map_err(value_error)?;
    }
    let info = spec.check().map_err(value_error)?;
    if !info.applies(AppliesTo::Objective) {
        return Err(PyValueError::new_err(format!(
            "method {}: it does not minimize objectives (it applies to {})",
            info.name,
            info.applies_to
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let bounds = bounds_for(bounds, n)?;
    let moved = bounds
        .as_ref()
        .map(|b| b.move_inside(&mut x0))
        .unwrap_or_default();
    let mut opts: Options = spec.default_options();
    opts.gtol = gtol.unwrap_or(match &bounds {
        Some(b) => spec.default_gtol_within(b),
        None => spec.default_gtol(),
    });
    if let Some(v) = ftol {
        opts.ftol = v;
    }
    if let Some(v) = xtol {
        opts.xtol = v;
    }
    if let Some(v) = max_iter {
        opts.max_iter = v;
    }
    opts.max_evals = max_evals.or(opts.max_evals);
    if let Some(t) = time_limit {
        if !(t > 0.0 && t.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "time_limit must be positive, got {t}"
            )));
        }
        opts.time_limit = Some(Duration::from_secs_f64(t));
    }
    check_tolerances(&[
        ("gtol", opts.gtol),
        ("ftol", opts.ftol),
        ("xtol", opts.xtol),
    ])?;
    // The run, without the GIL: each callback takes it back for itself.
    let found = py.detach(move || -> PyResult<Found> {
        // Built here: a method is not `Send`, so it lives and dies on this thread.
        let mut m = match &bounds {
            Some(b) => spec.build_bounded(b),
            None => spec.build(),
        }
        .map_err(value_error)?;
        let failure = Failure::default();
        let problem = PyObjective {
            n,
            value,
            value_grad,
            hess,
            hessp,
            failure: &failure,
        };
        let mut watch = PyWatch {
            callback,
            failure: &failure,
            x: Vec::new(),
        };
        let outcome = run(&problem, m.as_mut(), &x0, &opts, &mut watch);
        if let Some(e) = failure.take() {
            return Err(e);
        }
        let summary = outcome.map_err(|e| match e {
            descent::Error::NonFiniteStart(what) => PyValueError::new_err(format!(
                "the objective is not finite at x0 ({what}); choose another start"
            )),
            other => value_error(other),
        })?;
        let active = bounds
            .as_ref()
            .map(|b| b.active(&summary.x))
            .unwrap_or_default();
        let hess_inv = if hess_inv { m.inverse_hessian() } else { None };
        Ok(Found {
            summary,
            moved,
            active,
            hess_inv,
        })
    })?;
    let s = &found.summary;
    let out = PyDict::new(py);
    out.set_item("x", PyArray1::from_slice(py, &s.x))?;
    out.set_item("fun", s.f)?;
    out.set_item("jac", PyArray1::from_slice(py, &s.gradient))?;
    out.set_item("grad_norm", s.grad_norm)?;
    out.set_item("nit", s.iterations)?;
    out.set_item("f_evals", s.counts.f_evals)?;
    out.set_item("g_evals", s.counts.g_evals)?;
    out.set_item("h_evals", s.counts.h_evals)?;
    out.set_item("converged", s.converged)?;
    out.set_item("termination", s.termination.as_str())?;
    out.set_item("message", s.termination.to_string())?;
    out.set_item("method", &s.method)?;
    out.set_item("seconds", s.seconds)?;
    out.set_item("x0_moved", found.moved)?;
    out.set_item("active_bounds", found.active)?;
    match found.hess_inv {
        Some(InverseHessian::Dense(h)) => {
            let rows: Vec<Vec<f64>> = h.data.chunks(h.cols.max(1)).map(<[f64]>::to_vec).collect();
            out.set_item("hess_inv", matrix(py, &rows)?)?;
        }
        Some(InverseHessian::Pairs(pairs)) => {
            let (s, y): (Vec<Vec<f64>>, Vec<Vec<f64>>) = pairs.into_iter().unzip();
            out.set_item("hess_inv_s", matrix(py, &s)?)?;
            out.set_item("hess_inv_y", matrix(py, &y)?)?;
        }
        None => {}
    }
    Ok(out)
}

/// The registry: one dict per method (name, aliases, description, applies_to, needs,
/// settings with defaults, reference).
#[pyfunction]
pub fn methods(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    REGISTRY
        .iter()
        .map(|m| {
            let d = PyDict::new(py);
            d.set_item("name", m.name)?;
            d.set_item("aliases", m.aliases.to_vec())?;
            d.set_item("description", m.description)?;
            d.set_item(
                "applies_to",
                m.applies_to.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            )?;
            d.set_item(
                "settings",
                m.settings
                    .iter()
                    .map(|s| (s.name, s.default))
                    .collect::<Vec<_>>(),
            )?;
            d.set_item("bounded", m.bounded.is_some() || m.bounded_as.is_some())?;
            d.set_item("bounded_least_squares", m.bounded_least_squares)?;
            d.set_item("reference", m.reference)?;
            Ok(d)
        })
        .collect()
}

/// Rows as a 2-D array (0×0 when there are none).
fn matrix<'py>(py: Python<'py>, rows: &[Vec<f64>]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    PyArray2::from_vec2(py, rows).map_err(|e| PyValueError::new_err(e.to_string()))
}
