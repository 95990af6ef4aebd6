//! The user's Python functions as descent problems and observers.
//!
//! Each call takes the GIL, converts the point to a NumPy array and checks what comes
//! back. The first exception is kept ([`Failure`]); from then on every evaluation returns
//! NaN without calling Python and the observer stops the run at the end of the iteration,
//! so the exception reaches the caller as raised, with its traceback.

use descent::driver::{Control, IterReport, Observer};
use descent::linalg::DenseMatrix;
use descent::problem::{finite_difference_hess_vec, finite_difference_hessian};
use descent::{LeastSquares, Objective};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::cell::RefCell;

/// The first exception raised by the user's code during a run.
#[derive(Default)]
pub struct Failure(RefCell<Option<PyErr>>);

impl Failure {
    /// Runs `call` with the GIL unless an exception was already raised; an exception is
    /// kept and `fallback` returned.
    pub fn guard<T>(&self, fallback: T, call: impl FnOnce(Python<'_>) -> PyResult<T>) -> T {
        if self.failed() {
            return fallback;
        }
        Python::attach(|py| match call(py) {
            Ok(v) => v,
            Err(e) => {
                *self.0.borrow_mut() = Some(e);
                fallback
            }
        })
    }
    pub fn failed(&self) -> bool {
        self.0.borrow().is_some()
    }
    /// The exception, if one was raised.
    pub fn take(&self) -> Option<PyErr> {
        self.0.borrow_mut().take()
    }
}

fn array<'py>(py: Python<'py>, x: &[f64]) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_slice(py, x)
}

/// Copies a returned vector into `out`, checking its length.
fn copy_vector(v: &Bound<'_, PyAny>, out: &mut [f64], what: &str) -> PyResult<()> {
    let v: PyReadonlyArray1<f64> = v.extract()?;
    let s = v.as_slice()?;
    if s.len() != out.len() {
        return Err(PyValueError::new_err(format!(
            "{what} returned {} values, expected {}",
            s.len(),
            out.len()
        )));
    }
    out.copy_from_slice(s);
    Ok(())
}

/// Copies a returned matrix into `out`, checking its shape.
fn copy_matrix(v: &Bound<'_, PyAny>, out: &mut DenseMatrix, what: &str) -> PyResult<()> {
    let v: PyReadonlyArray2<f64> = v.extract()?;
    let a = v.as_array();
    if a.shape() != [out.rows, out.cols] {
        return Err(PyValueError::new_err(format!(
            "{what} returned shape {:?}, expected ({}, {})",
            a.shape(),
            out.rows,
            out.cols
        )));
    }
    for (o, v) in out.data.iter_mut().zip(a.iter()) {
        *o = *v;
    }
    Ok(())
}

/// An objective given as Python callables (float64 arrays in and out; the Python layer
/// has already wrapped the user's forms: `jac=True`, finite differences, `args`).
pub struct PyObjective<'a> {
    pub n: usize,
    /// `x ↦ f(x)`.
    pub value: Py<PyAny>,
    /// `x ↦ (f(x), ∇f(x))`.
    pub value_grad: Py<PyAny>,
    /// `x ↦ ∇²f(x)`.
    pub hess: Option<Py<PyAny>>,
    /// `(x, p) ↦ ∇²f(x)·p`.
    pub hessp: Option<Py<PyAny>>,
    pub failure: &'a Failure,
}

impl Objective for PyObjective<'_> {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.failure.guard(f64::NAN, |py| {
            self.value.bind(py).call1((array(py, x),))?.extract()
        })
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let f = self.failure.guard(f64::NAN, |py| {
            let (f, grad): (f64, Bound<'_, PyAny>) =
                self.value_grad.bind(py).call1((array(py, x),))?.extract()?;
            copy_vector(&grad, g, "the gradient")?;
            Ok(f)
        });
        if self.failure.failed() {
            g.fill(f64::NAN);
        }
        f
    }
    fn has_exact_hessian(&self) -> bool {
        self.hess.is_some() || self.hessp.is_some()
    }
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        match (&self.hess, &self.hessp) {
            (Some(hess), _) => self.failure.guard((), |py| {
                copy_matrix(&hess.bind(py).call1((array(py, x),))?, h, "hess")
            }),
            (None, Some(_)) => {
                // Column by column from the Hessian-vector products.
                let (mut e, mut col) = (vec![0.0; self.n], vec![0.0; self.n]);
                for j in 0..self.n {
                    e.fill(0.0);
                    e[j] = 1.0;
                    self.hess_vec(x, &e, &mut col);
                    for (i, v) in col.iter().enumerate() {
                        h.set(i, j, *v);
                    }
                }
            }
            (None, None) => finite_difference_hessian(self, x, h),
        }
        if self.failure.failed() {
            h.data.fill(f64::NAN);
        }
    }
    fn hess_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        match (&self.hessp, &self.hess) {
            (Some(hessp), _) => self.failure.guard((), |py| {
                let r = hessp.bind(py).call1((array(py, x), array(py, v)))?;
                copy_vector(&r, out, "hessp")
            }),
            (None, Some(_)) => {
                let mut h = DenseMatrix::zeros(self.n, self.n);
                self.hessian(x, &mut h);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = (0..self.n).map(|j| h.get(i, j) * v[j]).sum();
                }
            }
            (None, None) => finite_difference_hess_vec(self, x, v, out),
        }
        if self.failure.failed() {
            out.fill(f64::NAN);
        }
    }
}

/// Residuals and their Jacobian as Python callables.
pub struct PyResiduals<'a> {
    pub n: usize,
    pub m: usize,
    /// `x ↦ r(x)` (m values).
    pub residuals: Py<PyAny>,
    /// `x ↦ J(x)` (m×n).
    pub jacobian: Py<PyAny>,
    pub failure: &'a Failure,
}

impl LeastSquares for PyResiduals<'_> {
    fn dim(&self) -> usize {
        self.n
    }
    fn residual_count(&self) -> usize {
        self.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.failure.guard((), |py| {
            copy_vector(&self.residuals.bind(py).call1((array(py, x),))?, r, "fun")
        });
        if self.failure.failed() {
            r.fill(f64::NAN);
        }
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        self.failure.guard((), |py| {
            copy_matrix(&self.jacobian.bind(py).call1((array(py, x),))?, j, "jac")
        });
        if self.failure.failed() {
            j.data.fill(f64::NAN);
        }
    }
}

/// Calls the Python layer's per-iteration callback `(x, f, iteration) ↦ stop?` and
/// stops the run once the user's code has raised.
pub struct PyWatch<'a> {
    pub callback: Option<Py<PyAny>>,
    pub failure: &'a Failure,
    pub x: Vec<f64>,
}

impl Observer for PyWatch<'_> {
    fn on_point(&mut self, x: &[f64]) {
        if self.callback.is_some() {
            self.x.clear();
            self.x.extend_from_slice(x);
        }
    }
    fn on_iter(&mut self, r: &IterReport) -> Control {
        if let Some(cb) = &self.callback {
            let stop = self.failure.guard(true, |py| {
                cb.bind(py)
                    .call1((array(py, &self.x), r.f, r.iter))?
                    .is_truthy()
            });
            if stop {
                return Control::Stop;
            }
        }
        if self.failure.failed() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}
