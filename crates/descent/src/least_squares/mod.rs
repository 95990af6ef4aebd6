//! Nonlinear least squares: minimize `Σ rᵢ(x)²` using the structure `∇f = 2Jᵀr`,
//! `∇²f ≈ 2JᵀJ` (the Gauss–Newton approximation of the Hessian — the lecture's Fisher
//! information matrix, eq. 13).
//!
//! | method | step |
//! |---|---|
//! | [`LsqMethod::LevenbergMarquardt`] | `(JᵀJ + μD) h = −Jᵀr`, μ adapted by the gain ratio |
//! | [`LsqMethod::GaussNewton`] | `JᵀJ h = −Jᵀr` (least-squares solve) + Armijo line search |
//! | [`LsqMethod::DiagonalGaussNewton`] | `h = −Jᵀr / diag(JᵀJ)` + line search (a scaled gradient method) |
//!
//! Steps are solved by factorization — Cholesky of the (scaled) normal equations, falling
//! back to a QR factorization of the augmented system `[J; √μ D]` when the normal
//! equations are ill-conditioned — never by an explicit inverse.

mod covariance;
mod solve;
mod step;

pub use covariance::covariance;
pub use solve::{fit, FitOptions, FitSummary, LsqMethod};
