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
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
