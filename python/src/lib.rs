//! descent for Python: the native half of the `descent` package.
//!
//! The Python half (`python/descent/`) speaks SciPy's and scikit-learn's interfaces —
//! argument forms, finite differences, result objects — and calls these functions, which
//! run descent's methods with the GIL released. The user's Python functions are called
//! back with the GIL taken for each evaluation; the first exception they raise ends the
//! run and reaches the caller unchanged.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

mod callbacks;
mod least_squares;
mod minimize;
mod network;

/// descent's errors, in its own words, as `ValueError`.
pub(crate) fn value_error(e: descent::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The box `(lower, upper)` for `n` variables, checked.
pub(crate) fn bounds_for(
    bounds: Option<(Vec<f64>, Vec<f64>)>,
    n: usize,
) -> PyResult<Option<descent::Bounds>> {
    let Some((lo, hi)) = bounds else {
        return Ok(None);
    };
    let b = descent::Bounds::new(lo, hi).map_err(value_error)?;
    if b.dim() != n {
        return Err(PyValueError::new_err(format!(
            "bounds has {} pairs but x0 has {n} entries",
            b.dim()
        )));
    }
    Ok(Some(b))
}

/// Tolerances must be finite and not negative.
pub(crate) fn check_tolerances(tolerances: &[(&str, f64)]) -> PyResult<()> {
    for (name, v) in tolerances {
        if !(*v >= 0.0 && v.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "{name} must be a finite non-negative number, got {v}"
            )));
        }
    }
    Ok(())
}

#[pymodule]
fn _descent(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(minimize::minimize, m)?)?;
    m.add_function(wrap_pyfunction!(minimize::methods, m)?)?;
    m.add_function(wrap_pyfunction!(least_squares::least_squares, m)?)?;
    m.add_function(wrap_pyfunction!(least_squares::covariance, m)?)?;
    m.add_function(wrap_pyfunction!(network::train_network, m)?)?;
    m.add_function(wrap_pyfunction!(network::network_outputs, m)?)?;
    m.add_function(wrap_pyfunction!(network::choose_optimizer, m)?)?;
    m.add_function(wrap_pyfunction!(network::save_network, m)?)?;
    m.add_function(wrap_pyfunction!(network::load_network, m)?)?;
    m.add_function(wrap_pyfunction!(network::fresh_state, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
