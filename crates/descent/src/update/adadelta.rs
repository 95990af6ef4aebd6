//! Adadelta (Zeiler 2012), exactly as `torch.optim.Adadelta`, whose defaults it takes:
//! lr 1.0, ρ = 0.9, ε = 1e-6.
//!
//! `s = ρs + (1−ρ)g²`, `d = √(a + ε)/√(s + ε) · g`, `a = ρa + (1−ρ)d²`, `Δ = −lr·d`.

use super::{restore, Schedule, StepRule};

/// Adadelta (see the module documentation).
#[derive(Clone, Debug)]
pub struct Adadelta {
    /// Learning rate schedule (a multiplier of Adadelta's own step; 1 in the paper).
    pub lr: Schedule,
    /// Decay ρ of both running means.
    pub rho: f64,
    /// ε.
    pub eps: f64,
    square_avg: Vec<f64>,
    acc_delta: Vec<f64>,
}

impl Adadelta {
    /// Adadelta with torch's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        Adadelta {
            lr,
            rho: 0.9,
            eps: 1e-6,
            square_avg: Vec::new(),
            acc_delta: Vec::new(),
        }
    }
}

impl StepRule for Adadelta {
    fn name(&self) -> String {
        "Adadelta".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.square_avg, n);
        crate::resources::zeroed(&mut self.acc_delta, n);
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let (r, rho, eps) = (self.lr.at(t), self.rho, self.eps);
        for i in 0..g.len() {
            self.square_avg[i] = rho * self.square_avg[i] + (1.0 - rho) * g[i] * g[i];
            let std = (self.square_avg[i] + eps).sqrt();
            let d = (self.acc_delta[i] + eps).sqrt() / std * g[i];
            self.acc_delta[i] = rho * self.acc_delta[i] + (1.0 - rho) * d * d;
            delta[i] = -r * d;
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![
            ("square_avg", self.square_avg.clone()),
            ("acc_delta", self.acc_delta.clone()),
        ]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "square_avg", &mut self.square_avg);
        restore(state, "acc_delta", &mut self.acc_delta);
    }
}
