//! Newton's method: `(∇²f + τI) d = −∇f` (the lecture's eqs. 6–10), damped by a line search.
//!
//! The Hessian is the problem's own when it has one ([`Objective::has_exact_hessian`]),
//! else central differences of gradients. When it is not positive definite, τ > 0 is the
//! smallest shift of Nocedal & Wright's Algorithm 3.3 ("Cholesky with added multiple of the
//! identity") that makes the Cholesky factorization succeed, so `d` is always a descent
//! direction. In one dimension this is `d = −f'/max(f'', ·)`, the lecture's eq. 7.

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::{shifted_cholesky_solve, DenseMatrix};
use crate::problem::Objective;

/// Newton direction with a modified-Cholesky safeguard.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Newton {
    h: DenseMatrix,
    last_tau: f64,
    shifts: u64,
}

impl Direction for Newton {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.matrix_or_empty("Hessian", &self.h, dims.n, dims.n)
    }
    fn dense_values(&self, n: usize) -> u128 {
        // The Hessian and its Cholesky factor.
        2 * (n as u128).pow(2)
    }
    fn name(&self) -> String {
        "Newton".into()
    }
    fn init(&mut self, n: usize) {
        self.h = DenseMatrix::zeros(n, n);
        self.shifts = 0;
    }
    fn direction(
        &mut self,
        p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        p.hessian(&it.x, &mut self.h);
        if !crate::linalg::all_finite(&self.h.data) {
            return Err(Termination::NonFinite);
        }
        let (sol, tau) = shifted_cholesky_solve(&self.h, &it.g).ok_or(Termination::Breakdown)?;
        self.last_tau = tau;
        if tau > 0.0 {
            self.shifts += 1;
        }
        for (di, si) in d.iter_mut().zip(&sol) {
            *di = -si;
        }
        Ok(())
    }
    fn update(&mut self, _s: &[f64], _y: &[f64], _it: &Iterate) {}
    fn reset(&mut self) {}
    fn unit_step(&self) -> bool {
        true
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("tau", self.last_tau)]
    }
}
