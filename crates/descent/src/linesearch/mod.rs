//! Line searches on the one-dimensional restriction `φ(α) = f(x + α d)`.
//!
//! Any line search can be combined with any search direction: the direction methods
//! (steepest descent, nonlinear CG, quasi-Newton, Newton) produce `d`, a [`LineSearch`]
//! picks `α`. The [`Line`] view caches the last evaluated point so that the gradient at
//! the accepted step is never computed twice.

mod backtracking;
mod exact;
mod wolfe;

pub use backtracking::Backtracking;
pub use exact::Exact;
pub use wolfe::StrongWolfe;

use crate::bounds::Bounds;
use crate::linalg::{dot, CHUNK, PARALLEL_LEN};
use crate::problem::Objective;

/// The restriction of an objective to the ray `x + α d`, with a cache of the last point
/// evaluated with its gradient.
pub struct Line<'a> {
    problem: &'a dyn Objective,
    x: &'a [f64],
    d: &'a [f64],
    trial: Vec<f64>,
    /// α the trial point holds (NaN before the first).
    trial_alpha: f64,
    /// α of the cached gradient evaluation.
    cached_alpha: f64,
    cached_f: f64,
    cached_g: Vec<f64>,
    /// A box the trial points are clamped into (see [`Line::within`]).
    bounds: Option<&'a Bounds>,
}

impl<'a> Line<'a> {
    /// The line through `x` along `d`.
    pub fn new(problem: &'a dyn Objective, x: &'a [f64], d: &'a [f64]) -> Self {
        Self::reusing(problem, x, d, (Vec::new(), Vec::new()))
    }
    /// [`Line::new`] with scratch vectors to reuse for the trial point and its gradient
    /// (a method that keeps them allocates nothing per iteration; see
    /// [`Line::finish_owned`]).
    pub fn reusing(
        problem: &'a dyn Objective,
        x: &'a [f64],
        d: &'a [f64],
        (mut trial, mut cached_g): (Vec<f64>, Vec<f64>),
    ) -> Self {
        let n = x.len();
        trial.resize(n, 0.0);
        cached_g.resize(n, 0.0);
        Line {
            problem,
            x,
            d,
            trial,
            trial_alpha: f64::NAN,
            cached_alpha: f64::NAN,
            cached_f: f64::NAN,
            cached_g,
            bounds: None,
        }
    }
    /// Clamps every trial point into `bounds`. A bounded method keeps α within the
    /// largest feasible step; the clamp removes what rounding in `x + αd` could add, so
    /// that no point outside the box is ever evaluated.
    pub fn within(mut self, bounds: &'a Bounds) -> Self {
        self.bounds = Some(bounds);
        self
    }
    fn set_trial(&mut self, alpha: f64) {
        // The accepted step is usually the last one evaluated: its point is already here.
        #[allow(clippy::float_cmp)] // exact identity of an α, not a tolerance test
        if alpha == self.trial_alpha {
            return;
        }
        self.trial_alpha = alpha;
        if self.trial.len() >= PARALLEL_LEN {
            use rayon::prelude::*;
            self.trial
                .par_chunks_mut(CHUNK)
                .zip(self.x.par_chunks(CHUNK).zip(self.d.par_chunks(CHUNK)))
                .for_each(|(t, (x, d))| along(t, x, alpha, d));
        } else {
            along(&mut self.trial, self.x, alpha, self.d);
        }
        if let Some(b) = self.bounds {
            b.project(&mut self.trial);
        }
    }
    /// φ(α) only.
    pub fn value(&mut self, alpha: f64) -> f64 {
        self.set_trial(alpha);
        self.problem.value(&self.trial)
    }
    /// φ(α) and φ'(α) = ∇f(x+αd)ᵀd (the gradient is cached).
    pub fn value_slope(&mut self, alpha: f64) -> (f64, f64) {
        self.set_trial(alpha);
        let f = self.problem.value_grad(&self.trial, &mut self.cached_g);
        self.cached_alpha = alpha;
        self.cached_f = f;
        (f, dot(&self.cached_g, self.d))
    }
    /// The point, value and gradient at `alpha`, reusing the cache when it matches.
    pub fn finish(&mut self, alpha: f64, x_out: &mut [f64], g_out: &mut [f64]) -> f64 {
        #[allow(clippy::float_cmp)] // exact identity of a cached α, not a tolerance test
        if alpha != self.cached_alpha {
            self.value_slope(alpha);
        }
        self.set_trial(alpha);
        x_out.copy_from_slice(&self.trial);
        g_out.copy_from_slice(&self.cached_g);
        self.cached_f
    }
    /// [`Line::finish`] into the line's own vectors: (point, gradient, value) at `alpha`.
    pub fn finish_owned(mut self, alpha: f64) -> (Vec<f64>, Vec<f64>, f64) {
        #[allow(clippy::float_cmp)] // exact identity of a cached α, not a tolerance test
        if alpha != self.cached_alpha {
            self.value_slope(alpha);
        }
        self.set_trial(alpha);
        (self.trial, self.cached_g, self.cached_f)
    }
}

crate::simd::kernel! {
    /// `t = x + α d`.
    fn along(t: &mut [f64], x: &[f64], alpha: f64, d: &[f64]) {
        for ((ti, xi), di) in t.iter_mut().zip(x).zip(d) {
            *ti = xi + alpha * di;
        }
    }
}

/// An accepted step.
#[derive(Clone, Copy, Debug)]
pub struct LineStep {
    /// Step length α.
    pub alpha: f64,
    /// φ(α).
    pub f: f64,
}

/// Picks a step length along a descent direction.
pub trait LineSearch {
    /// Name for reports.
    fn name(&self) -> &'static str;
    /// Searches from `alpha0` given `φ(0) = f0` and `φ'(0) = slope0 < 0`. `None` when no
    /// acceptable step was found (the caller then stops with `LineSearchFailed`).
    fn search(&self, line: &mut Line<'_>, f0: f64, slope0: f64, alpha0: f64) -> Option<LineStep>;
    /// Whether every step it returns meets `φ(α) ≤ φ(0) + c₁αφ'(0)` (so never raises f),
    /// or — where f's values cannot resolve the decrease — raises f by no more than that
    /// resolution (the strong Wolfe search's approximate conditions).
    fn sufficient_decrease(&self) -> bool {
        false
    }
}

/// Minimizer of the cubic interpolating (a, fa, da) and (b, fb, db), if it exists.
/// Nocedal & Wright (2nd ed.) eq. 3.59.
pub(crate) fn cubic_min(a: f64, fa: f64, da: f64, b: f64, fb: f64, db: f64) -> Option<f64> {
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    if disc < 0.0 {
        return None;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
    t.is_finite().then_some(t)
}

/// Minimizer of the quadratic through (0, f0) with slope s0 and (a, fa).
pub(crate) fn quad_min(f0: f64, s0: f64, a: f64, fa: f64) -> Option<f64> {
    let denom = 2.0 * (fa - f0 - s0 * a);
    if denom <= 0.0 {
        return None;
    }
    let t = -s0 * a * a / denom;
    t.is_finite().then_some(t)
}
