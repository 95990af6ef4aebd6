//! Backtracking line search with the Armijo (sufficient decrease) condition.
//!
//! Nocedal & Wright (2nd ed.), Algorithm 3.1, with the step reduced by safeguarded
//! quadratic/cubic interpolation (§3.5) rather than a fixed factor.

use super::{quad_min, Line, LineSearch, LineStep};

/// Armijo backtracking: accept the first α with `φ(α) ≤ φ(0) + c₁ α φ'(0)`.
#[derive(Clone, Debug)]
pub struct Backtracking {
    /// Sufficient-decrease constant c₁ (default 1e-4, N&W §3.1).
    pub c1: f64,
    /// Smallest reduction factor per trial (default 0.1).
    pub min_shrink: f64,
    /// Largest reduction factor per trial (default 0.5).
    pub max_shrink: f64,
    /// Trial budget (default 60).
    pub max_trials: usize,
}

impl Default for Backtracking {
    fn default() -> Self {
        Backtracking {
            c1: 1e-4,
            min_shrink: 0.1,
            max_shrink: 0.5,
            max_trials: 60,
        }
    }
}

impl LineSearch for Backtracking {
    fn name(&self) -> &'static str {
        "backtracking"
    }
    fn sufficient_decrease(&self) -> bool {
        true
    }
    fn search(&self, line: &mut Line<'_>, f0: f64, slope0: f64, alpha0: f64) -> Option<LineStep> {
        let mut alpha = alpha0;
        let mut prev: Option<(f64, f64)> = None;
        for _ in 0..self.max_trials {
            let f = line.value(alpha);
            if f.is_finite() && f <= f0 + self.c1 * alpha * slope0 {
                return Some(LineStep { alpha, f });
            }
            let lo = self.min_shrink * alpha;
            let hi = self.max_shrink * alpha;
            let next = if !f.is_finite() {
                lo
            } else {
                let t = match prev {
                    Some((ap, fp)) => cubic_through(f0, slope0, alpha, f, ap, fp),
                    None => quad_min(f0, slope0, alpha, f),
                };
                t.unwrap_or(hi).clamp(lo, hi)
            };
            prev = f.is_finite().then_some((alpha, f));
            alpha = next;
            if alpha < 1e-20 {
                break;
            }
        }
        None
    }
}

/// Minimizer of the cubic through (0, f0, s0), (a, fa) and (b, fb) — N&W eq. 3.58.
fn cubic_through(f0: f64, s0: f64, a: f64, fa: f64, b: f64, fb: f64) -> Option<f64> {
    let ra = fa - f0 - s0 * a;
    let rb = fb - f0 - s0 * b;
    let den = a * a * b * b * (a - b);
    let c3 = (b * b * ra - a * a * rb) / den;
    let c2 = (-b * b * b * ra + a * a * a * rb) / den;
    if c3.abs() < 1e-300 {
        return (c2 > 0.0).then(|| -s0 / (2.0 * c2));
    }
    let disc = c2 * c2 - 3.0 * c3 * s0;
    if disc < 0.0 {
        return None;
    }
    let t = (-c2 + disc.sqrt()) / (3.0 * c3);
    t.is_finite().then_some(t)
}
