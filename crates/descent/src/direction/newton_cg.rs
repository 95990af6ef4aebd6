//! Truncated Newton (Newton–CG): approximately solve `∇²f d = −∇f` by conjugate gradients
//! on Hessian-vector products, stopping at the forcing tolerance
//! `‖r‖ ≤ min(0.5, √‖g‖)‖g‖` (superlinear convergence) or at negative curvature
//! (Nocedal & Wright, Algorithm 7.1). Never forms the Hessian.

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::{axpy, dot, norm};
use crate::problem::Objective;

/// Newton–CG direction.
#[derive(Clone, Debug, Default)]
pub struct NewtonCg {
    /// Cap on inner CG iterations (default: n).
    pub max_inner: Option<usize>,
    inner_total: u64,
}

impl Direction for NewtonCg {
    fn name(&self) -> String {
        "Newton-CG".into()
    }
    fn init(&mut self, _n: usize) {
        self.inner_total = 0;
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
        let mut r: Vec<f64> = g.clone(); // residual of B z = −g at z = 0 is g (sign: r = Bz + g)
        let mut pdir: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut bp = vec![0.0; n];
        let max_inner = self.max_inner.unwrap_or(n).max(1) * 2;
        for j in 0..max_inner {
            p.hess_vec(&it.x, &pdir, &mut bp);
            self.inner_total += 1;
            let curv = dot(&pdir, &bp);
            if !curv.is_finite() {
                return Err(Termination::NonFinite);
            }
            if curv <= 0.0 {
                if j == 0 {
                    d.copy_from_slice(&pdir);
                }
                return Ok(());
            }
            let rr = dot(&r, &r);
            let a = rr / curv;
            axpy(a, &pdir, d);
            axpy(a, &bp, &mut r);
            let rr_new = dot(&r, &r);
            if rr_new.sqrt() <= eps {
                return Ok(());
            }
            let beta = rr_new / rr;
            for (pi, ri) in pdir.iter_mut().zip(&r) {
                *pi = -ri + beta * *pi;
            }
        }
        Ok(())
    }
    fn update(&mut self, _s: &[f64], _y: &[f64], _it: &Iterate) {}
    fn reset(&mut self) {}
    fn unit_step(&self) -> bool {
        true
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("inner_cg", self.inner_total as f64)]
    }
}
