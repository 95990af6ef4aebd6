//! The exact trust-region subproblem: `p = −(B + λI)⁻¹g` with λ ≥ 0, `B + λI` positive
//! semi-definite and `λ(Δ − ‖p‖) = 0` — Moré & Sorensen's characterization ("Computing a
//! trust region step", SIAM J. Sci. Stat. Comput. 4, 1983; Nocedal & Wright Theorem 4.1).
//!
//! Where Moré and Sorensen reach λ by Newton's method on `1/‖p(λ)‖ − 1/Δ` with a Cholesky
//! factorization per trial, descent factorizes B once, `B = QΛQᵀ`, so that
//! `‖p(λ)‖² = Σ (qᵢᵀg)²/(λᵢ + λ)²` costs O(n) per trial: the same Newton iteration
//! (N&W eq. 4.44) safeguarded by bisection, and the *hard case* (g orthogonal to the
//! eigenvectors of the smallest eigenvalue) solved exactly, `p = p(−λ₁) + τq₁` on the
//! boundary. One eigendecomposition per iteration (O(n³)), as SciPy's `trust-exact` pays
//! a few Cholesky factorizations.

use super::{ModelStep, Subproblem};
use crate::linalg::{symmetric_eigen, DenseMatrix};
use crate::problem::Objective;

/// The exact subproblem solver.
#[derive(Clone, Debug, Default)]
pub struct ExactSubproblem;

/// Relative accuracy of ‖p‖ = Δ on the boundary (Moré & Sorensen's σ₁ is 0.1; exactness
/// is cheap here).
const BOUNDARY_TOLERANCE: f64 = 1e-10;

impl Subproblem for ExactSubproblem {
    fn name(&self) -> &'static str {
        "exact"
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
        let (lambda, q) = symmetric_eigen(h?)?;
        let n = g.len();
        // ĝ = Qᵀg.
        let gh: Vec<f64> = (0..n)
            .map(|j| (0..n).map(|i| q.get(i, j) * g[i]).sum())
            .collect();
        let norm_at = |shift: f64| -> f64 {
            gh.iter()
                .zip(&lambda)
                .map(|(c, l)| (c / (l + shift)).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let to_step = |ph: Vec<f64>, on_boundary: bool| {
            let predicted = -ph
                .iter()
                .zip(&gh)
                .zip(&lambda)
                .map(|((p, c), l)| c * p + 0.5 * l * p * p)
                .sum::<f64>();
            let p = (0..n)
                .map(|i| (0..n).map(|j| q.get(i, j) * ph[j]).sum())
                .collect();
            ModelStep {
                p,
                predicted,
                on_boundary,
            }
        };
        let solution = |shift: f64| -> Vec<f64> {
            gh.iter()
                .zip(&lambda)
                .map(|(c, l)| -c / (l + shift))
                .collect()
        };
        let lam1 = lambda[0];
        let scale = lambda
            .iter()
            .fold(0.0f64, |m, l| m.max(l.abs()))
            .max(1e-300);
        // The interior Newton step, when B is positive definite and it fits.
        if lam1 > 0.0 && norm_at(0.0) <= radius {
            return Some(to_step(solution(0.0), false));
        }
        let low = (-lam1).max(0.0);
        // The hard case: no weight on the smallest eigenvalue's eigenvectors, and the
        // step at λ = −λ₁ (those components left out) inside the region.
        let tie = 1e-10 * scale;
        let gnorm = gh.iter().map(|c| c * c).sum::<f64>().sqrt();
        let hard: Vec<usize> = (0..n).filter(|&i| lambda[i] - lam1 <= tie).collect();
        if lam1 <= 0.0
            && hard
                .iter()
                .all(|&i| gh[i].abs() <= 1e-12 * gnorm.max(1e-300))
        {
            let mut ph: Vec<f64> = (0..n)
                .map(|i| {
                    if hard.contains(&i) {
                        0.0
                    } else {
                        -gh[i] / (lambda[i] - lam1)
                    }
                })
                .collect();
            let inner = ph.iter().map(|v| v * v).sum::<f64>().sqrt();
            if inner <= radius {
                let tau = (radius * radius - inner * inner).max(0.0).sqrt();
                ph[hard[0]] = tau;
                return Some(to_step(ph, true));
            }
        }
        // λ > low with ‖p(λ)‖ = Δ: Newton on 1/‖p‖ − 1/Δ, kept in a shrinking bracket.
        let mut lo = low;
        let mut hi = low + gnorm / radius + scale;
        let mut lam = if lam1 > 0.0 {
            0.0
        } else {
            low + 1e-8 * scale.max(1.0)
        };
        for _ in 0..200 {
            if !(lam > lo && lam < hi) {
                lam = 0.5 * (lo + hi);
            }
            let pn = norm_at(lam);
            if (pn - radius).abs() <= BOUNDARY_TOLERANCE * radius {
                break;
            }
            if pn > radius {
                lo = lam;
            } else {
                hi = lam;
            }
            // ‖p‖' = −Σ ĝᵢ²/(λᵢ + λ)³ / ‖p‖: Newton's step on φ(λ) = 1/Δ − 1/‖p(λ)‖.
            let q2: f64 = gh
                .iter()
                .zip(&lambda)
                .map(|(c, l)| c * c / (l + lam).powi(3))
                .sum();
            lam += (pn * pn / q2) * (pn - radius) / radius;
            if hi - lo <= 1e-15 * hi.max(1e-300) {
                break;
            }
        }
        if !(lam > lo && lam < hi) {
            lam = 0.5 * (lo + hi);
        }
        Some(to_step(solution(lam), true))
    }
}
