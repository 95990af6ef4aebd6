//! The library's one error type.
//!
//! Termination of a run (budget exhausted, line search failure, non-finite value) is *not*
//! an error: it is a [`crate::Termination`] inside an `Ok(Summary)`. Errors are for input
//! that cannot be run at all.

use thiserror::Error;

/// Everything that can go wrong before or outside an optimization run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range or inconsistent.
    #[error("invalid {what}: {why}")]
    InvalidConfig {
        /// The setting.
        what: String,
        /// Why it is invalid.
        why: String,
    },
    /// A vector or matrix has the wrong length.
    #[error("dimension mismatch: {what} has length {got}, expected {expected}")]
    DimensionMismatch {
        /// Which vector.
        what: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The objective (or its gradient) is NaN or infinite at the starting point.
    #[error("the objective is not finite at the starting point ({0})")]
    NonFiniteStart(String),
    /// A starting point with NaN or infinite entries.
    #[error("starting point has a non-finite entry at index {index} ({value})")]
    NonFiniteInput {
        /// Index of the bad entry.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Text that could not be parsed (an expression, a problem name, a file).
    #[error("{0}")]
    Parse(String),
    /// An unknown name (problem, method, variable).
    #[error("unknown {kind} '{name}'{hint}")]
    Unknown {
        /// What kind of name.
        kind: &'static str,
        /// The name given.
        name: String,
        /// A suggestion, possibly empty.
        hint: String,
    },
    /// A method cannot be used on this problem (e.g. it needs residuals).
    #[error("method '{method}' does not apply: {why}")]
    NotApplicable {
        /// The method.
        method: String,
        /// Why.
        why: String,
    },
    /// An input that would need more memory than the machine has, refused before
    /// anything is allocated.
    #[error("{what} would need {needs} of memory; this machine has {has}")]
    TooLarge {
        /// What was asked for.
        what: String,
        /// The memory it would need, in words.
        needs: String,
        /// The machine's memory, in words.
        has: String,
    },
    /// Input/output failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub fn config(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidConfig {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// Result with the library's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
