//! Fitting: a least-squares method run by the one driver, then the statistics of the fit
//! (covariance `s²(JᵀJ)⁻¹` by QR, standard errors, degrees of freedom).

use super::covariance::{absolute_covariance, covariance_of_observations};
use super::gauss_newton::GaussNewton;
use super::levenberg_marquardt::{DampingRule, LevenbergMarquardt, LmConfig};
use super::restart::Restarted;
use super::scaling::Scaling;
use crate::bounds::Bounds;
use crate::checkpoint::Checkpoint;
use crate::driver::{
    resumed_counts, run, Minimizer, Observer, OnLeastSquares, Options, Start, Summary, Termination,
};
use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::problem::{Counted, LeastSquares};
use serde::Serialize;
use std::time::Duration;

/// Which least-squares method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LsqMethod {
    /// Levenberg–Marquardt.
    LevenbergMarquardt,
    /// Gauss–Newton with an Armijo line search.
    GaussNewton,
    /// The diagonal of the Gauss–Newton matrix as a scaling of the gradient.
    DiagonalGaussNewton,
}

impl LsqMethod {
    /// Parses `lm`, `gn`, `diag-gn`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "lm" | "levenberg-marquardt" => Ok(LsqMethod::LevenbergMarquardt),
            "gn" | "gauss-newton" => Ok(LsqMethod::GaussNewton),
            "diag-gn" | "diagonal-gauss-newton" => Ok(LsqMethod::DiagonalGaussNewton),
            _ => Err(Error::Unknown {
                kind: "least-squares method",
                name: s.into(),
                hint: " (expected lm, gn or diag-gn)".into(),
            }),
        }
    }
    /// Short name.
    pub fn as_str(self) -> &'static str {
        match self {
            LsqMethod::LevenbergMarquardt => "lm",
            LsqMethod::GaussNewton => "gn",
            LsqMethod::DiagonalGaussNewton => "diag-gn",
        }
    }

    /// The method as a [`Minimizer`] with the settings of `opts` (Levenberg–Marquardt
    /// wrapped in its restart when `opts.restart`).
    pub fn build(self, opts: &FitOptions) -> Box<dyn Minimizer<OnLeastSquares>> {
        match self {
            LsqMethod::LevenbergMarquardt => {
                let config = LmConfig {
                    ftol: opts.ftol,
                    xtol: opts.xtol,
                    gtol: opts.gtol,
                    tau: opts.tau,
                    geodesic: opts.geodesic,
                    scaling: opts.scaling,
                    damping: opts.damping,
                    bounds: opts.bounds.clone(),
                    mu_max: opts.mu_max,
                };
                let first = LevenbergMarquardt::new(config.clone());
                if !opts.restart {
                    return Box::new(first);
                }
                // The attempts share the driver's iteration budget: the first takes at
                // most `restart_after` of it, the second what the first left.
                let second = LevenbergMarquardt::new(LmConfig {
                    scaling: Scaling::Current,
                    ..config
                });
                Box::new(Restarted::new(first, second, opts.restart_after))
            }
            LsqMethod::GaussNewton | LsqMethod::DiagonalGaussNewton => {
                let mut gn = GaussNewton::new(self == LsqMethod::DiagonalGaussNewton);
                gn.ftol = opts.ftol;
                gn.xtol = opts.xtol;
                Box::new(gn)
            }
        }
    }
}

/// Stop tests and budgets for [`fit`].
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Relative reduction of the residual sum of squares (actual and predicted) below
    /// which the fit has converged (default 1e-15, near machine precision: certified NIST
    /// values need it).
    pub ftol: f64,
    /// Relative scaled step below which the fit has converged (default 1e-15).
    pub xtol: f64,
    /// Cosine between the residual vector and every column of J (default 1e-15).
    pub gtol: f64,
    /// Iteration budget (default 2000, shared by a restart).
    pub max_iter: u64,
    /// Residual-evaluation budget (default 10 000).
    pub max_evals: u64,
    /// Time budget.
    pub time_limit: Option<Duration>,
    /// Initial damping relative to the largest diagonal of the scaled JᵀJ (default 1e-3,
    /// Madsen, Nielsen & Tingleff's τ).
    pub tau: f64,
    /// Geodesic acceleration for Levenberg–Marquardt (Transtrum & Sethna, "Improvements to
    /// the Levenberg–Marquardt algorithm for nonlinear least-squares minimization", 2012):
    /// a second-order correction along the step from the directional second derivative of
    /// the residuals (exact for typed models).
    pub geodesic: bool,
    /// Whether a Levenberg–Marquardt run that ends without converging is repeated from
    /// the start with Marquardt's column scaling (default true), within what is left of
    /// the iteration budget.
    pub restart: bool,
    /// Iterations after which an unconverged first attempt gives way to the restart
    /// (default 1000, half the default budget). A number of its own, not a share of
    /// `max_iter`, so that a run saved with a small budget and resumed with a larger one
    /// takes the path of one uninterrupted run.
    pub restart_after: u64,
    /// Keep the final state in [`FitSummary::checkpoint`] (to save and resume).
    pub keep_checkpoint: bool,
    /// The residuals are already divided by known standard deviations: the covariance is
    /// `(JᵀJ)⁻¹`, not scaled by the residual variance (`curve_fit`'s `absolute_sigma`;
    /// default false).
    pub absolute_sigma: bool,
    /// Bounds on the parameters (default none); only Levenberg–Marquardt keeps to them.
    pub bounds: Option<Bounds>,
    /// Levenberg–Marquardt's damping ceiling ([`LmConfig::mu_max`]).
    pub mu_max: f64,
    /// Levenberg–Marquardt's column scaling (default MINPACK's running maximum; a restart
    /// uses Marquardt's).
    pub scaling: Scaling,
    /// Levenberg–Marquardt's damping rule (default Nielsen's).
    pub damping: DampingRule,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            ftol: 1e-15,
            xtol: 1e-15,
            gtol: 1e-15,
            max_iter: 2000,
            max_evals: 10_000,
            time_limit: None,
            tau: 1e-3,
            geodesic: true,
            restart: true,
            restart_after: 1000,
            keep_checkpoint: false,
            absolute_sigma: false,
            bounds: None,
            mu_max: crate::least_squares::levenberg_marquardt::MU_MAX,
            scaling: Scaling::RunningMax,
            damping: DampingRule::Nielsen,
        }
    }
}

impl FitOptions {
    /// The driver's budgets. Its own tolerance tests are off: the methods' MINPACK tests
    /// (relative to the sum of squares and the scaled step) are the stop reasons.
    pub fn driver_options(&self) -> Options {
        Options {
            gtol: 0.0,
            ftol: 0.0,
            xtol: 0.0,
            target: None,
            max_iter: self.max_iter,
            max_evals: Some(self.max_evals),
            time_limit: self.time_limit,
            keep_checkpoint: self.keep_checkpoint,
        }
    }
}

/// Runs a least-squares `method` on `problem` in the one driver (evaluations counted:
/// residual vectors as `f_evals`, Jacobians as `j_evals`).
pub fn minimize_least_squares(
    problem: &dyn LeastSquares,
    method: &mut dyn Minimizer<OnLeastSquares>,
    start: Start<'_>,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    let counted = Counted::from(problem, resumed_counts(start));
    run::<OnLeastSquares>(&counted, &|| counted.counts(), method, start, opts, obs)
}

/// What a fit found.
#[derive(Clone, Debug, Serialize)]
pub struct FitSummary {
    /// Method name.
    pub method: String,
    /// Parameters.
    pub x: Vec<f64>,
    /// Residual sum of squares Σ rᵢ².
    pub rss: f64,
    /// Iterations (accepted and rejected steps).
    pub iterations: u64,
    /// Residual evaluations (geodesic acceleration's included).
    pub f_evals: u64,
    /// Jacobian evaluations.
    pub jac_evals: u64,
    /// Exact second directional derivatives of the residuals (geodesic acceleration).
    pub h_evals: u64,
    /// Whether a convergence test was met.
    pub converged: bool,
    /// Why the fit stopped.
    pub termination: Termination,
    /// Degrees of freedom m − n (m − the free parameters' count with bounds).
    pub dof: i64,
    /// Parameters (indices) on a bound at the solution; their standard errors and
    /// covariances are NaN (the fit holds them, it does not estimate them).
    pub active_bounds: Vec<usize>,
    /// `s²(JᵀJ)⁻¹` at the solution; `None` when J is rank-deficient.
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Square roots of the covariance diagonal.
    pub std_errors: Option<Vec<f64>>,
    /// Residual standard deviation `√(rss/(m − n))`.
    pub residual_std: Option<f64>,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The final state, when [`FitOptions::keep_checkpoint`] asked for it.
    #[serde(skip)]
    pub checkpoint: Option<Checkpoint>,
}

/// The least-squares method a fit uses unless told otherwise: Levenberg–Marquardt, or
/// with bounds the trust-region reflective method. Measured against SciPy's
/// `curve_fit`/`least_squares(bounds=…)` on 45 bounded fits (`bench/fit_vs_scipy.py
/// --bounded-only`): `trf` reached SciPy's parameters to 1e-6 in 45 (median evaluations
/// 1.00× SciPy's with the linear loss), the projected LM in 41, with more evaluations.
pub fn default_method(bounded: bool) -> &'static str {
    if bounded {
        "trf"
    } else {
        "lm"
    }
}

/// How close to a bound a parameter counts as on it (SciPy's `active_mask`).
const ACTIVE_RTOL: f64 = 1e-10;

/// √variance, NaN kept NaN (a parameter held on a bound).
fn standard_error(variance: f64) -> f64 {
    if variance.is_nan() {
        f64::NAN
    } else {
        variance.max(0.0).sqrt()
    }
}

/// `Σ rᵢ(x)²` (one residual evaluation).
pub fn sum_of_squares(problem: &dyn LeastSquares, x: &[f64]) -> f64 {
    let mut r = vec![0.0; problem.residual_count()];
    problem.residuals(x, &mut r);
    crate::linalg::dot(&r, &r)
}

impl FitOptions {
    /// Refuses settings no fit can use, before any work: a damping start τ or ceiling
    /// that is not positive (NaN ones stopped the fit at x0 with `breakdown`), bounds of
    /// another dimension than the problem's `n`.
    pub fn check(&self, n: usize) -> Result<()> {
        if !(self.tau > 0.0 && self.tau.is_finite()) {
            return Err(Error::config(
                "tau",
                format!("must be positive and finite, got {}", self.tau),
            ));
        }
        if self.mu_max.is_nan() || self.mu_max <= 0.0 {
            return Err(Error::config(
                "mu_max",
                format!("must be positive, got {}", self.mu_max),
            ));
        }
        Bounds::for_dim(self.bounds.as_ref(), n)?;
        Ok(())
    }
}

/// Fits `problem` from `x0` with `method`.
///
/// Errors only when the problem cannot be started (wrong length, non-finite `x0`,
/// residuals or Jacobian not finite at `x0`); every other outcome is a [`Termination`].
pub fn fit(
    problem: &dyn LeastSquares,
    method: LsqMethod,
    x0: &[f64],
    opts: &FitOptions,
    obs: &mut dyn Observer,
) -> Result<FitSummary> {
    fit_from(problem, method, Start::At(x0), opts, obs)
}

/// [`fit`] from a fresh start or a checkpoint.
pub fn fit_from(
    problem: &dyn LeastSquares,
    method: LsqMethod,
    start: Start<'_>,
    opts: &FitOptions,
    obs: &mut dyn Observer,
) -> Result<FitSummary> {
    if opts.bounds.is_some() && method != LsqMethod::LevenbergMarquardt {
        // (They were ignored: the fit left the box without a word.)
        return Err(Error::NotApplicable {
            method: method.as_str().into(),
            why: "it takes no bounds (lm keeps to them; so does trf)".into(),
        });
    }
    fit_with(problem, method.build(opts).as_mut(), start, opts, obs)
}

/// [`fit_from`] with any least-squares minimizer (as [`crate::MethodSpec::build_least_squares`]
/// builds them).
pub fn fit_with(
    problem: &dyn LeastSquares,
    method: &mut dyn Minimizer<OnLeastSquares>,
    start: Start<'_>,
    opts: &FitOptions,
    obs: &mut dyn Observer,
) -> Result<FitSummary> {
    opts.check(problem.dim())?;
    let s = minimize_least_squares(problem, method, start, &opts.driver_options(), obs)?;
    // The covariance needs J at the solution: one more Jacobian, counted.
    let (rows, n) = (problem.residual_count(), problem.dim());
    let observations = problem.observation_count();
    let mut j = DenseMatrix::zeros(rows, n);
    problem.jacobian(&s.x, &mut j);
    // Parameters on a bound are held there: the covariance is that of the free ones
    // (J's free columns, s² over m − n_free), and the held ones have none — NaN, written
    // as null — rather than a number the fit does not support.
    let active = opts
        .bounds
        .as_ref()
        .map(|b| b.active_within(&s.x, ACTIVE_RTOL))
        .unwrap_or_default();
    let free: Vec<usize> = (0..n).filter(|i| !active.contains(i)).collect();
    let j_free = if active.is_empty() {
        j
    } else {
        let mut jf = DenseMatrix::zeros(rows, free.len());
        for r in 0..rows {
            for (c, &k) in free.iter().enumerate() {
                jf.set(r, c, j.get(r, k));
            }
        }
        jf
    };
    let cov_free = if opts.absolute_sigma {
        absolute_covariance(&j_free)
    } else {
        covariance_of_observations(&j_free, s.f, observations)
    };
    let cov = cov_free.map(|cf| {
        let mut c = DenseMatrix::zeros(n, n);
        c.data.iter_mut().for_each(|v| *v = f64::NAN);
        for (a, &ka) in free.iter().enumerate() {
            for (b, &kb) in free.iter().enumerate() {
                c.set(ka, kb, cf.get(a, b));
            }
        }
        c
    });
    let dof = observations as i64 - free.len() as i64;
    Ok(FitSummary {
        method: s.method,
        std_errors: cov
            .as_ref()
            .map(|c| (0..n).map(|i| standard_error(c.get(i, i))).collect()),
        covariance: cov.map(|c| (0..n).map(|i| c.row(i).to_vec()).collect()),
        active_bounds: active,
        residual_std: (dof > 0).then(|| (s.f / dof as f64).sqrt()),
        x: s.x,
        rss: s.f,
        iterations: s.iterations,
        f_evals: s.counts.f_evals,
        jac_evals: s.counts.j_evals + 1,
        h_evals: s.counts.h_evals,
        converged: s.converged,
        termination: s.termination,
        dof,
        seconds: s.seconds,
        checkpoint: s.checkpoint,
    })
}
