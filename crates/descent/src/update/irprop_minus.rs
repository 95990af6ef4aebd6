//! iRprop⁻: resilient propagation without weight backtracking (Igel & Hüsken 2000),
//! exactly as `torch.optim.Rprop`, whose defaults it takes: initial step 0.01 (its lr),
//! η = (0.5, 1.2), step sizes in [1e-6, 50].
//!
//! Per weight: `s = gᵢ·gᵢ₋₁`; the step size grows by η⁺ when `s > 0`, shrinks by η⁻ when
//! `s < 0` (and the gradient is then taken as 0: no step, and no sign to compare next
//! time), stays when `s = 0`; clamped to [Δmin, Δmax]; `Δ = −sign(g)·step`. Only signs
//! are used, so the update works on mini-batches as torch's does.

use super::{restore, Schedule, StepRule};

/// iRprop⁻ (see the module documentation). The schedule's rate at step 1 is the initial
/// step size.
#[derive(Clone, Debug)]
pub struct IRpropMinus {
    /// Initial step size (torch's `lr`).
    pub lr: Schedule,
    /// Shrink factor η⁻.
    pub eta_minus: f64,
    /// Growth factor η⁺.
    pub eta_plus: f64,
    /// Smallest step size.
    pub step_min: f64,
    /// Largest step size.
    pub step_max: f64,
    step: Vec<f64>,
    prev: Vec<f64>,
}

impl IRpropMinus {
    /// iRprop⁻ with torch's defaults and initial step `lr`.
    pub fn new(lr: Schedule) -> Self {
        IRpropMinus {
            lr,
            eta_minus: 0.5,
            eta_plus: 1.2,
            step_min: 1e-6,
            step_max: 50.0,
            step: Vec::new(),
            prev: Vec::new(),
        }
    }
}

impl StepRule for IRpropMinus {
    fn name(&self) -> String {
        "iRprop-".into()
    }
    fn reset(&mut self, n: usize) {
        self.step = Vec::new();
        self.prev = vec![0.0; n];
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        if self.step.len() != g.len() {
            self.step = vec![self.lr.at(t); g.len()];
        }
        for i in 0..g.len() {
            let s = g[i] * self.prev[i];
            let factor = if s > 0.0 {
                self.eta_plus
            } else if s < 0.0 {
                self.eta_minus
            } else {
                1.0
            };
            self.step[i] = (self.step[i] * factor).clamp(self.step_min, self.step_max);
            let gi = if s < 0.0 { 0.0 } else { g[i] };
            delta[i] = if gi > 0.0 {
                -self.step[i]
            } else if gi < 0.0 {
                self.step[i]
            } else {
                0.0
            };
            self.prev[i] = gi;
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("step", self.step.clone()), ("prev", self.prev.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "step", &mut self.step);
        restore(state, "prev", &mut self.prev);
    }
}
