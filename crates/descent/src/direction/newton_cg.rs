//! Truncated Newton (Newton–CG): approximately solve `B d = −∇f` by conjugate gradients
//! on curvature-vector products, stopping at the forcing tolerance
//! `‖r‖ ≤ min(0.5, √‖g‖)‖g‖` (superlinear convergence) or at negative curvature
//! (Nocedal & Wright, Algorithm 7.1). Never forms a matrix.
//!
//! With `B = ∇²f` (exact Hessian-vector products) this is Newton-CG. With `B = G + λI`,
//! `G` the generalized Gauss–Newton matrix of the problem ([`Objective::gauss_newton_vec`],
//! positive semi-definite), it is Hessian-free optimization (Martens, "Deep learning via
//! Hessian-free optimization", ICML 2010): the damping λ follows the ratio ρ of actual to
//! predicted reduction — λ ← 3λ/2 when ρ < ¼, λ ← 2λ/3 when ρ > ¾ (Martens §4.1).
//! Problems without a Gauss–Newton product fall back to Hessian-vector products.

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::{axpy, dot, norm};
use crate::problem::Objective;

/// Newton–CG direction (or Hessian-free with [`NewtonCg::hessian_free`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NewtonCg {
    /// Cap on inner CG iterations (default: 2n).
    pub max_inner: Option<usize>,
    /// Use Gauss–Newton products with adaptive damping (Hessian-free).
    pub gauss_newton: bool,
    /// Current damping λ (Hessian-free; initial 1, Martens 2010).
    pub lambda: f64,
    inner_total: u64,
    /// gᵀd, ‖d‖ and f at the last direction (for the reduction ratio).
    last: Option<(f64, f64, f64)>,
}

impl Default for NewtonCg {
    fn default() -> Self {
        NewtonCg {
            max_inner: None,
            gauss_newton: false,
            lambda: 1.0,
            inner_total: 0,
            last: None,
        }
    }
}

impl NewtonCg {
    /// Hessian-free: CG on damped Gauss–Newton products.
    pub fn hessian_free() -> Self {
        NewtonCg {
            gauss_newton: true,
            ..NewtonCg::default()
        }
    }
}

impl Direction for NewtonCg {
    crate::driver::whole_state!();
    fn name(&self) -> String {
        if self.gauss_newton {
            "Hessian-free (Gauss-Newton CG)".into()
        } else {
            "Newton-CG".into()
        }
    }
    fn init(&mut self, _n: usize) {
        self.inner_total = 0;
        self.last = None;
    }
    fn direction(
        &mut self,
        p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        let n = d.len();
        let g = &it.g;
        let gnorm = norm(g);
        let eps = 0.5f64.min(gnorm.sqrt()) * gnorm;
        d.iter_mut().for_each(|v| *v = 0.0);
        let mut r: Vec<f64> = g.clone(); // residual of B z = −g at z = 0 is g (r = Bz + g)
        let mut pdir: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut bp = vec![0.0; n];
        let max_inner = self.max_inner.unwrap_or(n).max(1) * 2;
        let (gn, lambda) = (self.gauss_newton, self.lambda);
        let product = |v: &[f64], out: &mut [f64]| {
            if gn && p.gauss_newton_vec(&it.x, v, out) {
                axpy(lambda, v, out);
            } else {
                p.hess_vec(&it.x, v, out);
            }
        };
        for j in 0..max_inner {
            product(&pdir, &mut bp);
            self.inner_total += 1;
            let curv = dot(&pdir, &bp);
            if !curv.is_finite() {
                return Err(Termination::NonFinite);
            }
            if curv <= 0.0 {
                if j == 0 {
                    d.copy_from_slice(&pdir);
                }
                break;
            }
            let rr = dot(&r, &r);
            let a = rr / curv;
            axpy(a, &pdir, d);
            axpy(a, &bp, &mut r);
            let rr_new = dot(&r, &r);
            if rr_new.sqrt() <= eps {
                break;
            }
            let beta = rr_new / rr;
            for (pi, ri) in pdir.iter_mut().zip(&r) {
                *pi = -ri + beta * *pi;
            }
        }
        self.last = Some((dot(g, d), norm(d), it.f));
        Ok(())
    }
    fn update(&mut self, s: &[f64], _y: &[f64], it: &Iterate) {
        if !self.gauss_newton {
            return;
        }
        if let Some((gd, dn, f0)) = self.last {
            // For CG iterates from 0, dᵀBd = −gᵀd, so the model's change along α·d is
            // gᵀd·(α − α²/2).
            let alpha = if dn > 0.0 { norm(s) / dn } else { 0.0 };
            let predicted = gd * (alpha - 0.5 * alpha * alpha);
            if predicted < 0.0 {
                let rho = (it.f - f0) / predicted;
                if rho < 0.25 {
                    self.lambda *= 1.5;
                } else if rho > 0.75 {
                    self.lambda *= 2.0 / 3.0;
                }
            }
        }
    }
    fn reset(&mut self) {}
    fn unit_step(&self) -> bool {
        true
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("inner_cg", self.inner_total as f64),
            ("lambda", self.lambda),
        ]
    }
}
