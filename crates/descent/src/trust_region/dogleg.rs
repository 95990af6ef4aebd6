//! Powell's dogleg (Nocedal & Wright, §4.1): the path from 0 to the Cauchy point
//! `p_U = −(gᵀg/gᵀBg)·g` and on to the Newton point `p_B = −B⁻¹g`, cut at the region's
//! boundary. B must be positive definite for the Newton point; where the Hessian is not,
//! the Newton point of `B + τI` with the smallest shift τ that is (N&W Algorithm 3.3) takes
//! its place, and a path whose end the model rates below the Cauchy point is replaced by
//! that point — so every step decreases the model at least as much as the Cauchy point
//! (the condition of global convergence, N&W Theorem 4.5). SciPy's `dogleg` stops instead.

use super::{model_decrease, to_boundary, ModelStep, Subproblem};
use crate::linalg::{dot, norm, shifted_cholesky_solve, DenseMatrix};
use crate::problem::Objective;

/// The dogleg subproblem.
#[derive(Clone, Debug, Default)]
pub struct Dogleg;

impl Subproblem for Dogleg {
    fn name(&self) -> &'static str {
        "dogleg"
    }
    fn needs_hessian(&self) -> bool {
        true
    }
    fn solve(
        &mut self,
        _problem: &dyn Objective,
        _x: &[f64],
        g: &[f64],
        h: Option<&DenseMatrix>,
        radius: f64,
    ) -> Option<ModelStep> {
        let h = h?;
        let n = g.len();
        let gnorm = norm(g);
        let mut hg = vec![0.0; n];
        h.mul_vec(g, &mut hg);
        let curvature = dot(g, &hg);
        // The Cauchy point: along −g to the model's minimum or the boundary.
        let cauchy: Vec<f64> = {
            let t = if curvature > 0.0 {
                (gnorm * gnorm / curvature).min(radius / gnorm)
            } else {
                radius / gnorm
            };
            g.iter().map(|gi| -t * gi).collect()
        };
        let neg_g: Vec<f64> = g.iter().map(|v| -v).collect();
        let (newton, _shift) = shifted_cholesky_solve(h, &neg_g)?;
        let step = |p: Vec<f64>, on_boundary: bool| ModelStep {
            predicted: model_decrease(g, h, &p),
            p,
            on_boundary,
        };
        let candidate = if norm(&newton) <= radius {
            step(newton, false)
        } else if norm(&cauchy) >= radius * (1.0 - 1e-12) {
            step(cauchy.clone(), true)
        } else {
            let dir: Vec<f64> = newton.iter().zip(&cauchy).map(|(b, u)| b - u).collect();
            let tau = to_boundary(&cauchy, &dir, radius);
            let p = cauchy.iter().zip(&dir).map(|(u, d)| u + tau * d).collect();
            step(p, true)
        };
        let cauchy_step = step(
            cauchy,
            curvature <= 0.0 || gnorm * gnorm / curvature >= radius / gnorm,
        );
        Some(if candidate.predicted >= cauchy_step.predicted {
            candidate
        } else {
            cauchy_step
        })
    }
}
