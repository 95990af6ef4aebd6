//! Steepest descent, `d = −∇f` (the lecture's eq. 1 with a line search, eq. 3).

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::problem::Objective;

/// `d = −∇f(x)`.
#[derive(Clone, Debug, Default)]
pub struct Steepest;

impl Direction for Steepest {
    fn name(&self) -> String {
        "gradient descent".into()
    }
    fn init(&mut self, _n: usize) {}
    fn direction(
        &mut self,
        _p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        for (di, gi) in d.iter_mut().zip(&it.g) {
            *di = -gi;
        }
        Ok(())
    }
    fn update(&mut self, _s: &[f64], _y: &[f64], _it: &Iterate) {}
    fn reset(&mut self) {}
    fn unit_step(&self) -> bool {
        false
    }
}
