//! RAdam: Adam with the variance of its adaptive rate rectified (Liu et al., ICLR 2020),
//! exactly as `torch.optim.RAdam`, whose defaults it takes: lr 1e-3, β = (0.9, 0.999),
//! ε = 1e-8.
//!
//! `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`, `m̂ = m/(1−β₁ᵗ)`,
//! `ρ∞ = 2/(1−β₂) − 1`, `ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ)`; when `ρₜ > 5`
//! `Δ = −ρ m̂ · r · √(1−β₂ᵗ)/(√v + ε)` with `r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ))`,
//! otherwise (the first steps) `Δ = −ρ m̂` (momentum SGD).

use super::{restore, Schedule, StepRule};

/// RAdam (see the module documentation).
#[derive(Clone, Debug)]
pub struct RAdam {
    /// Learning rate schedule ρ.
    pub lr: Schedule,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl RAdam {
    /// RAdam with torch's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        RAdam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Vec::new(),
            v: Vec::new(),
        }
    }
}

impl StepRule for RAdam {
    fn name(&self) -> String {
        "RAdam".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.m, n);
        crate::resources::zeroed(&mut self.v, n);
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let (r, b1, b2, tf) = (self.lr.at(t), self.beta1, self.beta2, t as f64);
        let (c1, c2) = (1.0 - b1.powf(tf), 1.0 - b2.powf(tf));
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * tf * b2.powf(tf) / c2;
        let rect = (rho_t > 5.0).then(|| {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt()
        });
        for i in 0..g.len() {
            self.m[i] += (1.0 - b1) * (g[i] - self.m[i]);
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = self.m[i] / c1;
            delta[i] = match rect {
                Some(rect) => -(m_hat * r * (c2.sqrt() / (self.v[i].sqrt() + self.eps)) * rect),
                None => -(m_hat * r),
            };
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("m", self.m.clone()), ("v", self.v.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "m", &mut self.m);
        restore(state, "v", &mut self.v);
    }
}
