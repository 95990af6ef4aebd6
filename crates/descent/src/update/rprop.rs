//! Resilient propagation without weight backtracking, in two variants:
//!
//! - **iRprop⁻** (Igel & Hüsken 2000), exactly as `torch.optim.Rprop`, whose defaults it
//!   takes: initial step 0.01 (its lr), η = (0.5, 1.2), step sizes in [1e-6, 50];
//! - **Rprop as MATLAB's `trainrp`** (Riedmiller & Braun 1993): initial step Δ₀ = 0.07,
//!   η = (0.5, 1.2), Δmax = 50, no lower bound, and a sign change does not forget the
//!   gradient.
//!
//! Per weight: `s = gᵢ·gᵢ₋₁`; the step size grows by η⁺ when `s > 0`, shrinks by η⁻ when
//! `s < 0` (iRprop⁻ then takes the gradient as 0: no step, and no sign to compare next
//! time), stays when `s = 0`; clamped to [Δmin, Δmax]; `Δ = −sign(g)·step`. Only signs
//! are used, so iRprop⁻ also works on mini-batches, as torch's does.

use super::{restore, Schedule, StepRule};

/// Rprop without backtracking (see the module documentation). The schedule's rate at
/// step 1 is the initial step size.
#[derive(Clone, Debug)]
pub struct Rprop {
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
    /// Whether a sign change zeroes that gradient (iRprop⁻) or not (MATLAB's `trainrp`).
    pub forget_on_sign_change: bool,
    step: Vec<f64>,
    prev: Vec<f64>,
}

impl Rprop {
    /// iRprop⁻ with torch's defaults and initial step `lr`.
    pub fn irprop_minus(lr: Schedule) -> Self {
        Rprop {
            lr,
            eta_minus: 0.5,
            eta_plus: 1.2,
            step_min: 1e-6,
            step_max: 50.0,
            forget_on_sign_change: true,
            step: Vec::new(),
            prev: Vec::new(),
        }
    }
    /// Rprop with MATLAB's `trainrp` defaults and initial step `delta0`.
    pub fn trainrp(delta0: Schedule) -> Self {
        Rprop {
            step_min: 0.0,
            forget_on_sign_change: false,
            ..Rprop::irprop_minus(delta0)
        }
    }
}

impl StepRule for Rprop {
    fn name(&self) -> String {
        if self.forget_on_sign_change {
            "iRprop-".into()
        } else {
            "Rprop (trainrp)".into()
        }
    }
    fn reset(&mut self, n: usize) {
        self.step = Vec::new();
        crate::resources::zeroed(&mut self.prev, n);
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
            let gi = if s < 0.0 && self.forget_on_sign_change {
                0.0
            } else {
                g[i]
            };
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
