//! Lion, the evolved sign momentum (Chen et al., Symbolic discovery of optimization
//! algorithms, NeurIPS 2023, Program 1), with the paper's defaults: lr 1e-4,
//! β = (0.9, 0.99), decoupled weight decay λ = 0.
//!
//! `c = β₁m + (1−β₁)g`, `Δ = −ρ(sign(c) + λx)`, `m = β₂m + (1−β₂)g`.

use super::{restore, Schedule, StepRule};
use crate::linalg::sign;

/// Lion (see the module documentation).
#[derive(Clone, Debug)]
pub struct Lion {
    /// Learning rate schedule ρ.
    pub lr: Schedule,
    /// β₁ (interpolation for the update).
    pub beta1: f64,
    /// β₂ (decay of the momentum).
    pub beta2: f64,
    /// Decoupled weight decay λ.
    pub weight_decay: f64,
    m: Vec<f64>,
}

impl Lion {
    /// Lion with the paper's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        Lion {
            lr,
            beta1: 0.9,
            beta2: 0.99,
            weight_decay: 0.0,
            m: Vec::new(),
        }
    }
}

impl StepRule for Lion {
    fn name(&self) -> String {
        "Lion".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.m, n);
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        let (r, b1, b2, wd) = (self.lr.at(t), self.beta1, self.beta2, self.weight_decay);
        for i in 0..g.len() {
            let c = b1 * self.m[i] + (1.0 - b1) * g[i];
            delta[i] = -r * (sign(c) + wd * x[i]);
            self.m[i] = b2 * self.m[i] + (1.0 - b2) * g[i];
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("m", self.m.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "m", &mut self.m);
    }
}
