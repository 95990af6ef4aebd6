//! NAdam: Adam with Nesterov momentum (Dozat 2016), exactly as `torch.optim.NAdam`,
//! whose defaults it takes: lr 2e-3, β = (0.9, 0.999), ε = 1e-8, momentum decay ψ = 4e-3.
//!
//! `μₜ = β₁(1 − ½·0.96^{tψ})`, `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`,
//! `d = √(v/(1−β₂ᵗ)) + ε`,
//! `Δ = −ρ(1−μₜ)/(1−Πᵢ≤ₜ μᵢ) · g/d − ρ μₜ₊₁/(1−Πᵢ≤ₜ₊₁ μᵢ) · m/d`.

use super::{restore, Schedule, StepRule};

/// NAdam (see the module documentation).
#[derive(Clone, Debug)]
pub struct NAdam {
    /// Learning rate schedule ρ.
    pub lr: Schedule,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Momentum decay ψ.
    pub momentum_decay: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    /// Π μᵢ over the steps so far (one entry, so that it is saved with the moments).
    mu_product: Vec<f64>,
}

impl NAdam {
    /// NAdam with torch's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        NAdam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            momentum_decay: 4e-3,
            m: Vec::new(),
            v: Vec::new(),
            mu_product: vec![1.0],
        }
    }
}

impl StepRule for NAdam {
    fn name(&self) -> String {
        "NAdam".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.m, n);
        crate::resources::zeroed(&mut self.v, n);
        self.mu_product = vec![1.0];
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let (r, b1, b2, tf) = (self.lr.at(t), self.beta1, self.beta2, t as f64);
        let c2 = 1.0 - b2.powf(tf);
        let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(tf * self.momentum_decay));
        let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((tf + 1.0) * self.momentum_decay));
        self.mu_product[0] *= mu;
        let prod = self.mu_product[0];
        let a_g = -r * (1.0 - mu) / (1.0 - prod);
        let a_m = -r * mu_next / (1.0 - prod * mu_next);
        for i in 0..g.len() {
            self.m[i] += (1.0 - b1) * (g[i] - self.m[i]);
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            let d = (self.v[i] / c2).sqrt() + self.eps;
            delta[i] = a_g * g[i] / d + a_m * self.m[i] / d;
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![
            ("m", self.m.clone()),
            ("v", self.v.clone()),
            ("mu_product", self.mu_product.clone()),
        ]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "m", &mut self.m);
        restore(state, "v", &mut self.v);
        restore(state, "mu_product", &mut self.mu_product);
    }
}
