//! The least-squares loop: Levenberg–Marquardt, Gauss–Newton, diagonal Gauss–Newton.
//!
//! Levenberg–Marquardt follows Madsen, Nielsen & Tingleff, *Methods for Non-Linear Least
//! Squares Problems* (2004), Algorithm 3.16 — the gain ratio ρ = actual / predicted
//! reduction drives the damping μ by Nielsen's rule (μ ← μ·max(⅓, 1 − (2ρ − 1)³) on
//! success, μ ← μν, ν ← 2ν on failure) — with MINPACK's scaling D = running maximum of
//! the Jacobian's column norms (Moré 1978), which makes the method invariant to the units
//! of the parameters. The cap on one step's decrease of μ (10 instead of
//! Nielsen's 3) and the initial damping τ were chosen by measurement on the 54 NIST StRD
//! fits (fewest residual evaluations at equal accuracy); Moré's trust-region update was
//! not implemented.
//! Stopping tests are MINPACK's: relative reduction (actual and predicted) ≤ ftol,
//! relative scaled step ≤ xtol, and the cosine between r and each column of J ≤ gtol.

use super::covariance::covariance;
use super::step::scaled_step;
use crate::driver::{Control, IterReport, Observer, Termination};
use crate::error::{Error, Result};
use crate::linalg::{dot, norm, DenseMatrix};
use crate::problem::{Counts, LeastSquares};
use serde::Serialize;
use std::time::{Duration, Instant};

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
}

/// Largest factor by which one successful step may decrease μ (Nielsen's rule uses 3;
/// 10 was measured to need fewer evaluations on the NIST StRD problems at equal accuracy).
const MU_MAX_DECREASE: f64 = 10.0;
/// How the parameters are scaled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scaling {
    /// D = running maximum of the column norms of J (MINPACK, Moré 1978).
    RunningMax,
    /// D = current column norms (Marquardt 1963, in norm form).
    Current,
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
        }
    }
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
    /// Residual evaluations.
    pub f_evals: u64,
    /// Jacobian evaluations.
    pub jac_evals: u64,
    /// Whether a convergence test was met.
    pub converged: bool,
    /// Why the fit stopped.
    pub termination: Termination,
    /// Degrees of freedom m − n.
    pub dof: i64,
    /// `s²(JᵀJ)⁻¹` at the solution; `None` when J is rank-deficient.
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Square roots of the covariance diagonal.
    pub std_errors: Option<Vec<f64>>,
    /// Residual standard deviation `√(rss/(m − n))`.
    pub residual_std: Option<f64>,
    /// Wall time in seconds.
    pub seconds: f64,
}

struct State<'a> {
    p: &'a dyn LeastSquares,
    m: usize,
    n: usize,
    f_evals: u64,
    jac_evals: u64,
}

impl State<'_> {
    fn residuals(&mut self, x: &[f64]) -> Vec<f64> {
        self.f_evals += 1;
        let mut r = vec![0.0; self.m];
        self.p.residuals(x, &mut r);
        r
    }
    fn jacobian(&mut self, x: &[f64]) -> DenseMatrix {
        self.jac_evals += 1;
        let mut j = DenseMatrix::zeros(self.m, self.n);
        self.p.jacobian(x, &mut j);
        j
    }
}

fn finite(v: &[f64]) -> bool {
    crate::linalg::all_finite(v)
}

/// Column norms of J, with zero columns given norm 1 (they carry no information).
fn column_norms(j: &DenseMatrix) -> Vec<f64> {
    (0..j.cols)
        .map(|c| {
            let v = (0..j.rows).map(|i| j.get(i, c).powi(2)).sum::<f64>().sqrt();
            if v > 0.0 && v.is_finite() {
                v
            } else {
                1.0
            }
        })
        .collect()
}

fn scale_columns(j: &DenseMatrix, d: &[f64]) -> DenseMatrix {
    let mut js = j.clone();
    for row in js.data.chunks_mut(j.cols) {
        for (v, dc) in row.iter_mut().zip(d) {
            *v /= dc;
        }
    }
    js
}

/// MINPACK's gradient test: max over columns of |Jⱼᵀr| / (‖Jⱼ‖‖r‖).
fn gradient_cosine(j: &DenseMatrix, r: &[f64]) -> f64 {
    let rn = norm(r);
    if rn == 0.0 {
        return 0.0;
    }
    let mut jtr = vec![0.0; j.cols];
    j.tr_mul_vec(r, &mut jtr);
    let cn = column_norms(j);
    jtr.iter()
        .zip(&cn)
        .map(|(g, c)| g.abs() / (c * rn))
        .fold(0.0, f64::max)
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
    let (m, n) = (problem.residual_count(), problem.dim());
    crate::driver::check_start(x0, n, "starting point")?;
    let start = Instant::now();
    let mut st = State {
        p: problem,
        m,
        n,
        f_evals: 0,
        jac_evals: 0,
    };
    let x = x0.to_vec();
    let r = st.residuals(&x);
    if !finite(&r) {
        return Err(Error::NonFiniteStart(
            "the residuals are NaN or infinite at the starting point".into(),
        ));
    }
    let j = st.jacobian(&x);
    if !finite(&j.data) {
        return Err(Error::NonFiniteStart(
            "the Jacobian is NaN or infinite at the starting point".into(),
        ));
    }
    let name = match method {
        LsqMethod::LevenbergMarquardt => "Levenberg-Marquardt",
        LsqMethod::GaussNewton => "Gauss-Newton",
        LsqMethod::DiagonalGaussNewton => "diagonal Gauss-Newton",
    };
    obs.on_start(name, n, dot(&r, &r));
    let mut iterations = 0u64;
    // A Levenberg–Marquardt attempt that ends without converging is repeated from x0 with
    // Marquardt's current-column scaling instead of MINPACK's running maximum (it follows
    // a different path through curved valleys: NIST's MGH10 from start 1 needs it); the
    // better of the two is returned. The attempts share the iteration budget: the first
    // gets half of it, the second what the first left.
    let restart = method == LsqMethod::LevenbergMarquardt && opts.restart;
    let first_opts = FitOptions {
        max_iter: if restart {
            opts.max_iter - opts.max_iter / 2
        } else {
            opts.max_iter
        },
        ..opts.clone()
    };
    let first = attempt(
        &mut st,
        method,
        Scaling::RunningMax,
        x,
        r,
        j,
        &first_opts,
        obs,
        &mut iterations,
        start,
    );
    let left = FitOptions {
        max_iter: opts.max_iter.saturating_sub(iterations),
        ..opts.clone()
    };
    let best = if restart
        && left.max_iter > 0
        && !first.termination.converged()
        && !matches!(
            first.termination,
            Termination::ObserverStop | Termination::TimeLimit
        ) {
        let r0 = st.residuals(x0);
        let j0 = st.jacobian(x0);
        let mut it2 = 0u64;
        let second = attempt(
            &mut st,
            method,
            Scaling::Current,
            x0.to_vec(),
            r0,
            j0,
            &left,
            obs,
            &mut it2,
            start,
        );
        iterations += it2;
        if second.rss <= first.rss {
            second
        } else {
            first
        }
    } else {
        first
    };
    let Outcome {
        x,
        j,
        rss,
        termination,
        ..
    } = best;
    let cov = covariance(&j, rss);
    let dof = m as i64 - n as i64;
    let summary = FitSummary {
        method: name.into(),
        std_errors: cov
            .as_ref()
            .map(|c| (0..n).map(|i| c.get(i, i).max(0.0).sqrt()).collect()),
        covariance: cov.map(|c| (0..n).map(|i| c.row(i).to_vec()).collect()),
        residual_std: (dof > 0).then(|| (rss / dof as f64).sqrt()),
        x,
        rss,
        iterations,
        f_evals: st.f_evals,
        jac_evals: st.jac_evals,
        converged: termination.converged(),
        termination,
        dof,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(summary)
}

/// Where one attempt ended.
struct Outcome {
    x: Vec<f64>,
    j: DenseMatrix,
    rss: f64,
    termination: Termination,
}

/// One run of the loop from `x` (with residuals `r` and Jacobian `j` already evaluated).
#[allow(clippy::too_many_arguments)]
fn attempt(
    st: &mut State<'_>,
    method: LsqMethod,
    scaling: Scaling,
    mut x: Vec<f64>,
    mut r: Vec<f64>,
    mut j: DenseMatrix,
    opts: &FitOptions,
    obs: &mut dyn Observer,
    iterations: &mut u64,
    start: Instant,
) -> Outcome {
    let problem = st.p;
    let (m, n) = (st.m, st.n);
    let mut rss = dot(&r, &r);
    let mut d = column_norms(&j);

    let mut mu = opts.tau; // diag(JsᵀJs) = 1 at the start with column-norm scaling
    let mut nu = 2.0;

    let termination = loop {
        if rss == 0.0 {
            break Termination::TargetCost;
        }
        let cosine = gradient_cosine(&j, &r);
        if cosine <= opts.gtol {
            break Termination::GradientTolerance;
        }
        if *iterations >= opts.max_iter {
            break Termination::MaxIterations;
        }
        if st.f_evals >= opts.max_evals {
            break Termination::MaxEvaluations;
        }
        if opts.time_limit.is_some_and(|t| start.elapsed() >= t) {
            break Termination::TimeLimit;
        }
        *iterations += 1;
        match scaling {
            Scaling::Current => d = column_norms(&j),
            Scaling::RunningMax => {
                for (dc, nc) in d.iter_mut().zip(column_norms(&j)) {
                    *dc = dc.max(nc);
                }
            }
        }
        let js = scale_columns(&j, &d);
        let xnorm_scaled = x
            .iter()
            .zip(&d)
            .map(|(a, b)| (a * b).powi(2))
            .sum::<f64>()
            .sqrt();
        let mut step_norm = 0.0;
        let stop: Option<Termination> = match method {
            LsqMethod::LevenbergMarquardt => {
                let Some(z) = scaled_step(&js, &r, mu) else {
                    break Termination::Breakdown;
                };
                // Predicted reduction of the linear model ‖r + J h‖².
                let mut lin = r.clone();
                for (i, li) in lin.iter_mut().enumerate() {
                    *li += dot(js.row(i), &z);
                }
                let pred = rss - dot(&lin, &lin);
                let mut znorm = norm(&z);
                let mut z = z;
                let mut too_curved = false;
                if opts.geodesic {
                    // Acceleration a: (JsᵀJs + μI) a = −Jsᵀ r''ᵥ; keep it when 2‖a‖/‖v‖ ≤ 0.75.
                    let h: Vec<f64> = z.iter().zip(&d).map(|(zi, di)| zi / di).collect();
                    let mut rvv = vec![0.0; m];
                    problem.second_directional(&x, &h, &mut rvv);
                    st.jac_evals += 1;
                    if let Some(a) = finite(&rvv).then(|| scaled_step(&js, &rvv, mu)).flatten() {
                        if 2.0 * norm(&a) <= 0.75 * znorm {
                            for (zi, ai) in z.iter_mut().zip(&a) {
                                *zi += 0.5 * ai;
                            }
                            znorm = norm(&z);
                        } else {
                            too_curved = true;
                        }
                    }
                }
                if too_curved {
                    mu *= nu;
                    nu *= 2.0;
                    None
                } else if pred.max(0.0) <= opts.ftol * rss {
                    // The model predicts no further relative reduction.
                    Some(Termination::CostChangeTolerance)
                } else if znorm <= opts.xtol * xnorm_scaled {
                    Some(Termination::StepTolerance)
                } else {
                    let x_new: Vec<f64> = x
                        .iter()
                        .zip(z.iter().zip(&d))
                        .map(|(a, (zi, di))| a + zi / di)
                        .collect();
                    let r_new = st.residuals(&x_new);
                    let rss_new = dot(&r_new, &r_new);
                    let rho = if finite(&r_new) {
                        (rss - rss_new) / pred
                    } else {
                        -1.0
                    };
                    if rho > 0.0 {
                        let j_new = st.jacobian(&x_new);
                        if !finite(&j_new.data) {
                            break Termination::NonFinite;
                        }
                        mu *= (1.0 / MU_MAX_DECREASE).max(1.0 - (2.0 * rho - 1.0).powi(3));
                        nu = 2.0;
                        let actual = (rss - rss_new) / rss;
                        x = x_new;
                        r = r_new;
                        rss = rss_new;
                        j = j_new;
                        step_norm = znorm;
                        if actual <= opts.ftol && pred <= opts.ftol * rss && rho <= 2.0 {
                            Some(Termination::CostChangeTolerance)
                        } else if znorm <= opts.xtol * xnorm_scaled {
                            Some(Termination::StepTolerance)
                        } else {
                            None
                        }
                    } else {
                        mu *= nu;
                        nu *= 2.0;
                        (mu > 1e100 || !mu.is_finite()).then_some(Termination::TrustRegionTooSmall)
                    }
                }
            }
            LsqMethod::GaussNewton | LsqMethod::DiagonalGaussNewton => {
                let z = if method == LsqMethod::GaussNewton {
                    // Rank-deficient J: fall back on a tiny damping.
                    match scaled_step(&js, &r, 0.0).or_else(|| scaled_step(&js, &r, 1e-12)) {
                        Some(z) => z,
                        None => break Termination::Breakdown,
                    }
                } else {
                    // diag(JsᵀJs) = 1 after column scaling: z = −Jsᵀr.
                    let mut g = vec![0.0; n];
                    js.tr_mul_vec(&r, &mut g);
                    g.iter().map(|v| -v).collect()
                };
                let h: Vec<f64> = z.iter().zip(&d).map(|(zi, di)| zi / di).collect();
                let mut g = vec![0.0; n];
                j.tr_mul_vec(&r, &mut g);
                let slope = 2.0 * dot(&g, &h); // d/dα ‖r(x + αh)‖² at α = 0
                if slope.is_nan() || slope >= 0.0 {
                    break Termination::NotDescentDirection;
                }
                let mut alpha = 1.0;
                let mut accepted = None;
                for _ in 0..60 {
                    let xt: Vec<f64> = x.iter().zip(&h).map(|(a, b)| a + alpha * b).collect();
                    let rt = st.residuals(&xt);
                    let ft = dot(&rt, &rt);
                    if finite(&rt) && ft <= rss + 1e-4 * alpha * slope {
                        accepted = Some((xt, rt, ft));
                        break;
                    }
                    alpha = if finite(&rt) {
                        // Quadratic interpolation, safeguarded to [0.1α, 0.5α].
                        let q = -slope * alpha * alpha / (2.0 * (ft - rss - slope * alpha));
                        q.clamp(0.1 * alpha, 0.5 * alpha)
                    } else {
                        0.1 * alpha
                    };
                }
                match accepted {
                    None => Some(Termination::LineSearchFailed),
                    Some((xn, rn, fnew)) => {
                        let jn = st.jacobian(&xn);
                        if !finite(&jn.data) {
                            break Termination::NonFinite;
                        }
                        let red = (rss - fnew) / rss;
                        step_norm = alpha * norm(&z);
                        x = xn;
                        r = rn;
                        rss = fnew;
                        j = jn;
                        if red <= opts.ftol {
                            Some(Termination::CostChangeTolerance)
                        } else if step_norm <= opts.xtol * xnorm_scaled {
                            Some(Termination::StepTolerance)
                        } else {
                            None
                        }
                    }
                }
            }
        };
        if obs.wants_reports() {
            let report = IterReport {
                iter: *iterations,
                f: rss,
                grad_norm: gradient_cosine(&j, &r),
                step_norm,
                alpha: mu,
                counts: Counts {
                    f_evals: st.f_evals,
                    g_evals: st.jac_evals,
                    h_evals: 0,
                },
                seconds: start.elapsed().as_secs_f64(),
                extra: vec![("mu", mu)],
            };
            obs.on_point(&x);
            if obs.on_iter(&report) == Control::Stop {
                break Termination::ObserverStop;
            }
        }
        if let Some(t) = stop {
            break t;
        }
    };
    Outcome {
        x,
        j,
        rss,
        termination,
    }
}
