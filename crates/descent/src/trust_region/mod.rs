//! Trust-region methods for objectives: each iteration minimizes the quadratic model
//! `m(p) = f + gᵀp + ½pᵀBp` (B the exact Hessian or its products) over `‖p‖ ≤ Δ`, and
//! the gain ratio `ρ = (f(x) − f(x + p))/(m(0) − m(p))` decides whether to take the step
//! and how Δ changes (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 4.1).
//! The radius rules are SciPy's (`scipy.optimize._trustregion`): Δ₀ = 1, Δ ≤ 1000, a step
//! is taken when ρ > 0.15, Δ ← Δ/4 when ρ < 1/4, Δ ← min(2Δ, Δmax) when ρ > 3/4 and the
//! step reached the boundary.
//!
//! The model's minimizer within the region — the strategy, as Levenberg–Marquardt's
//! damping is for least squares — is one of:
//!
//! | method | subproblem | needs |
//! |---|---|---|
//! | [`Dogleg`] (`trust-dogleg`) | Powell's dogleg between the Cauchy and Newton points | ∇²f |
//! | [`Steihaug`] (`trust-ncg`) | Steihaug–Toint truncated CG | ∇²f·v |
//! | [`ExactSubproblem`] (`trust-exact`) | the exact minimizer (Moré & Sorensen's characterization, by eigendecomposition) | ∇²f |
//!
//! Unlike argmin's trust region, the run stops on the gradient (the driver's `gtol`), as
//! every other method does, and a region that shrinks below rounding ends it with
//! `trust_region_too_small`.

mod dogleg;
mod exact;
mod steihaug;

pub use dogleg::Dogleg;
pub use exact::ExactSubproblem;
pub use steihaug::Steihaug;

use crate::driver::{Iterate, Minimizer, StepOutcome, Termination, VALUE_RESOLUTION};
use crate::error::Result;
use crate::linalg::{all_finite, norm, DenseMatrix};
use crate::problem::Objective;
use serde::{Deserialize, Serialize};

/// A step of the subproblem.
pub struct ModelStep {
    /// The step p, `‖p‖ ≤ Δ`.
    pub p: Vec<f64>,
    /// The model's decrease `m(0) − m(p)` (≥ 0).
    pub predicted: f64,
    /// Whether `‖p‖` reached Δ (the region limited the step).
    pub on_boundary: bool,
}

/// The decrease `f(x) − f(x + p)` the gain ratio compares with the model's. Where the
/// model predicts less than f's values can resolve, the difference of values is
/// rounding, and the ratio drawn from it shrank the region until the run stopped
/// (`trust-ncg` on quadratics of condition 10⁵–10⁶ with exact Hessians: stopped at
/// ‖∇f‖∞ = 2e-2 after 56 iterations, where SciPy's own run, in the same arithmetic,
/// happened to draw a favourable rounding). There the decrease is taken from the
/// gradients instead, by the trapezoid rule `−½(g + g₊)ᵀp` — exact on a quadratic, and
/// in general accurate to O(‖p‖³) on a step too short for f to tell — the same
/// judgement Hager and Zhang's approximate Wolfe conditions make in a line search
/// (SIAM J. Optim. 16, 2005, §4). A value higher than f by more than that resolution is
/// a rise all the same: the difference of values decides then (a step onto a bump of f
/// that the model cannot see is rejected).
fn actual_reduction((f, f_new): (f64, f64), (g, g_new): (&[f64], &[f64]), step: &ModelStep) -> f64 {
    let resolution = VALUE_RESOLUTION * f.abs();
    if step.predicted > resolution || f_new > f + resolution {
        return f - f_new;
    }
    let slope_sum: f64 = g
        .iter()
        .zip(g_new)
        .zip(&step.p)
        .map(|((a, b), p)| (a + b) * p)
        .sum();
    -0.5 * slope_sum
}

/// How the model is minimized within the region.
pub trait Subproblem {
    /// Name for reports.
    fn name(&self) -> &'static str;
    /// Whether it needs the dense Hessian (otherwise Hessian-vector products).
    fn needs_hessian(&self) -> bool;
    /// The step for gradient `g`, Hessian `h` (when [`Subproblem::needs_hessian`]) and
    /// radius Δ at `x`. `None` when it cannot produce one.
    fn solve(
        &mut self,
        problem: &dyn Objective,
        x: &[f64],
        g: &[f64],
        h: Option<&DenseMatrix>,
        radius: f64,
    ) -> Option<ModelStep>;
}

/// The model's decrease `−(gᵀp + ½pᵀHp)` for a dense H.
pub(crate) fn model_decrease(g: &[f64], h: &DenseMatrix, p: &[f64]) -> f64 {
    let mut hp = vec![0.0; p.len()];
    h.mul_vec(p, &mut hp);
    -(crate::linalg::dot(g, p) + 0.5 * crate::linalg::dot(p, &hp))
}

/// `τ ≥ 0` with `‖z + τd‖ = Δ` (the positive root).
pub(crate) fn to_boundary(z: &[f64], d: &[f64], radius: f64) -> f64 {
    let a = crate::linalg::dot(d, d);
    let b = 2.0 * crate::linalg::dot(z, d);
    let c = crate::linalg::dot(z, z) - radius * radius;
    let disc = (b * b - 4.0 * a * c).max(0.0).sqrt();
    // The stable form of the positive root.
    if b >= 0.0 {
        (2.0 * -c) / (b + disc)
    } else {
        (-b + disc) / (2.0 * a)
    }
}

/// Radius settings (SciPy's defaults).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RadiusRules {
    /// Initial radius Δ₀ (1.0).
    pub initial: f64,
    /// Largest radius (1000).
    pub max: f64,
    /// Smallest gain ratio of a step taken, η (0.15).
    pub eta: f64,
}

impl Default for RadiusRules {
    fn default() -> Self {
        RadiusRules {
            initial: 1.0,
            max: 1000.0,
            eta: 0.15,
        }
    }
}

/// A trust-region method: the radius rules around a [`Subproblem`].
pub struct TrustRegion<S> {
    /// The subproblem solver.
    pub subproblem: S,
    /// The radius rules.
    pub rules: RadiusRules,
    state: State,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct State {
    radius: f64,
    /// ∇²f at the current point, while it is current.
    hessian: Option<DenseMatrix>,
    rho: f64,
}

impl<S: Subproblem> TrustRegion<S> {
    /// `subproblem` with SciPy's radius rules.
    pub fn new(subproblem: S) -> Self {
        TrustRegion {
            subproblem,
            rules: RadiusRules::default(),
            state: State::default(),
        }
    }
}

impl<S: Subproblem> Minimizer for TrustRegion<S> {
    fn name(&self) -> String {
        format!("trust region ({})", self.subproblem.name())
    }

    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        self.state = State {
            radius: self.rules.initial,
            hessian: None,
            rho: 0.0,
        };
        Ok(Iterate::evaluate(problem, x0))
    }

    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        if self.subproblem.needs_hessian() && self.state.hessian.is_none() {
            let n = it.x.len();
            let mut h = DenseMatrix::zeros(n, n);
            problem.hessian(&it.x, &mut h);
            if !all_finite(&h.data) {
                return Ok(StepOutcome::Stop(Termination::NonFinite));
            }
            self.state.hessian = Some(h);
        }
        let radius = self.state.radius;
        let Some(step) =
            self.subproblem
                .solve(problem, &it.x, &it.g, self.state.hessian.as_ref(), radius)
        else {
            return Ok(StepOutcome::Stop(Termination::Breakdown));
        };
        let x_new: Vec<f64> = it.x.iter().zip(&step.p).map(|(a, b)| a + b).collect();
        let p_norm = norm(&step.p);
        if p_norm <= f64::EPSILON * norm(&it.x).max(f64::MIN_POSITIVE)
            || step.predicted.is_nan()
            || step.predicted <= 0.0
        {
            // No step the model can still tell from zero.
            return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
        }
        let mut g_new = vec![0.0; it.x.len()];
        let f_new = problem.value_grad(&x_new, &mut g_new);
        let finite = f_new.is_finite() && all_finite(&g_new);
        let rho = if finite {
            actual_reduction((it.f, f_new), (&it.g, &g_new), &step) / step.predicted
        } else {
            -1.0
        };
        self.state.rho = rho;
        if rho < 0.25 {
            self.state.radius = 0.25 * radius;
        } else if rho > 0.75 && step.on_boundary {
            self.state.radius = (2.0 * radius).min(self.rules.max);
        }
        if rho <= self.rules.eta {
            if self.state.radius <= f64::EPSILON * norm(&it.x).max(1e-300) {
                return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
            }
            return Ok(StepOutcome::Rejected);
        }
        it.x = x_new;
        it.f = f_new;
        it.g = g_new;
        self.state.hessian = None;
        Ok(StepOutcome::Accepted {
            step_norm: p_norm,
            alpha: 1.0,
        })
    }

    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("radius", self.state.radius), ("rho", self.state.rho)]
    }

    fn save_state(&self) -> Result<serde_json::Value> {
        crate::driver::state_to_json(&self.state)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        self.state = crate::driver::state_from_json(state)?;
        Ok(())
    }
    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        // The Hessian, and the factorizations and copies of its subproblem's solve.
        if self.subproblem.needs_hessian() {
            3 * (dims.n as u128).pow(2)
        } else {
            0
        }
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> Result<()> {
        match &self.state.hessian {
            Some(h) => dims.matrix("Hessian", h, dims.n, dims.n),
            None => Ok(()),
        }
    }
}
