//! Adamax: Adam with the infinity norm (Kingma & Ba 2015, §7.1), exactly as
//! `torch.optim.Adamax`, whose defaults it takes: lr 2e-3, β = (0.9, 0.999), ε = 1e-8.
//!
//! `m = β₁m + (1−β₁)g`, `u = max(β₂u, |g| + ε)`, `Δ = −ρ/(1−β₁ᵗ) · m/u`.

use super::{restore, Schedule, StepRule};

/// Adamax (see the module documentation).
#[derive(Clone, Debug)]
pub struct Adamax {
    /// Learning rate schedule ρ.
    pub lr: Schedule,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    m: Vec<f64>,
    u: Vec<f64>,
}

impl Adamax {
    /// Adamax with torch's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        Adamax {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Vec::new(),
            u: Vec::new(),
        }
    }
}

impl StepRule for Adamax {
    fn name(&self) -> String {
        "Adamax".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.m, n);
        crate::resources::zeroed(&mut self.u, n);
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let (b1, b2) = (self.beta1, self.beta2);
        let clr = self.lr.at(t) / (1.0 - b1.powf(t as f64));
        for i in 0..g.len() {
            self.m[i] += (1.0 - b1) * (g[i] - self.m[i]);
            self.u[i] = (b2 * self.u[i]).max(g[i].abs() + self.eps);
            delta[i] = -clr * self.m[i] / self.u[i];
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("m", self.m.clone()), ("u", self.u.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "m", &mut self.m);
        restore(state, "u", &mut self.u);
    }
}
