//! One-step secant (Battiti 1992, "First- and second-order methods for learning", Neural
//! Computation 4(2), §4.2; MATLAB's `trainoss`): the BFGS update of the identity by the
//! last step alone, so no matrix is stored:
//!
//! `d = −g + A s + B y`, with `B = sᵀg/sᵀy` and `A = −(1 + yᵀy/sᵀy)·B + yᵀg/sᵀy`.
//!
//! Reset rules: the direction restarts at `−g` every n iterations (n variables, Battiti's
//! rule), after a pair without positive curvature, and whenever the line search finds it
//! is not a descent direction.

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::dot;
use crate::problem::Objective;

/// One-step secant direction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct OneStepSecant {
    /// The last step s and gradient change y.
    pair: Option<(Vec<f64>, Vec<f64>)>,
    /// Iterations since the last restart.
    since_restart: usize,
    n: usize,
}

impl Direction for OneStepSecant {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.length("dimension", self.n, dims.n)?;
        if let Some((s, y)) = &self.pair {
            dims.vector("step", s)?;
            dims.vector("gradient change", y)?;
        }
        Ok(())
    }
    fn name(&self) -> String {
        "one-step secant".into()
    }
    fn init(&mut self, n: usize) {
        self.pair = None;
        self.since_restart = 0;
        self.n = n;
    }
    fn direction(
        &mut self,
        _p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        for (di, gi) in d.iter_mut().zip(&it.g) {
            *di = -gi;
        }
        if let Some((s, y)) = &self.pair {
            let sy = dot(s, y);
            let b = dot(s, &it.g) / sy;
            let a = -(1.0 + dot(y, y) / sy) * b + dot(y, &it.g) / sy;
            for ((di, si), yi) in d.iter_mut().zip(s).zip(y) {
                *di += a * si + b * yi;
            }
        }
        Ok(())
    }
    fn update(&mut self, s: &[f64], y: &[f64], _it: &Iterate) {
        self.since_restart += 1;
        let sy = dot(s, y);
        if self.since_restart >= self.n.max(1)
            || sy.is_nan()
            || sy <= 1e-10 * dot(s, s).sqrt() * dot(y, y).sqrt()
        {
            self.reset();
            return;
        }
        match &mut self.pair {
            Some((ps, py)) => {
                ps.copy_from_slice(s);
                py.copy_from_slice(y);
            }
            None => self.pair = Some((s.to_vec(), y.to_vec())),
        }
    }
    fn reset(&mut self) {
        self.pair = None;
        self.since_restart = 0;
    }
    fn unit_step(&self) -> bool {
        self.pair.is_some()
    }
}
