//! Nonlinear least squares: minimize `Σ rᵢ(x)²` using the structure `∇f = 2Jᵀr`,
//! `∇²f ≈ 2JᵀJ` (the Gauss–Newton approximation of the Hessian — the lecture's Fisher
//! information matrix, eq. 13). Every method is a [`crate::Minimizer`] of the one driver
//! over [`crate::driver::OnLeastSquares`].
//!
//! | method | step |
//! |---|---|
//! | [`LevenbergMarquardt`] | `(JᵀJ + μD) h = −Jᵀr`, μ adapted by the gain ratio (a trust-region method) |
//! | [`GaussNewton`] | `JᵀJ h = −Jᵀr` (least-squares solve) + Armijo line search |
//! | [`GaussNewton`] diagonal | `h = −Jᵀr / diag(JᵀJ)` + line search (a scaled gradient method) |
//! | [`BayesianRegularization`] | LM on `β·Σr² + α·Σw²`, α and β re-estimated each step (MATLAB's `trainbr`) |
//!
//! Steps are solved by factorization — Cholesky of the (scaled) normal equations, falling
//! back to a QR factorization of the augmented system `[J; √μ D]` when the normal
//! equations are ill-conditioned — never by an explicit inverse. [`fit`] runs a method and
//! adds the statistics of the fit.

mod bayesian_regularization;
mod covariance;
mod fit;
mod gauss_newton;
mod levenberg_marquardt;
mod restart;
mod robust;
mod scaling;
mod step;
mod trust_region_reflective;
mod view;

pub use bayesian_regularization::BayesianRegularization;
pub use covariance::{absolute_covariance, covariance, covariance_of_observations};
pub use fit::{
    default_method, fit, fit_from, fit_with, minimize_least_squares, sum_of_squares, FitOptions,
    FitSummary, LsqMethod,
};
pub use gauss_newton::GaussNewton;
pub use levenberg_marquardt::{Damping, DampingRule, LevenbergMarquardt, LmConfig};
pub use restart::Restarted;
pub use robust::{Robust, RobustLoss, Weighted, LOSS_NAMES};
pub use scaling::{gradient_cosine, Scaling};
pub use step::{gram, gram_into};
pub use trust_region_reflective::{TrfConfig, TrustRegionReflective};
pub use view::ResidualView;
