//! iRprop⁺: resilient propagation with weight backtracking only when the error grew
//! (Igel & Hüsken, "Improving the Rprop learning algorithm", NC 2000; "Empirical
//! evaluation of the improved Rprop learning algorithms", Neurocomputing 50, 2003, whose
//! settings are the defaults: Δ₀ = 0.0125, η⁺ = 1.2, η⁻ = 0.5, Δmin = 0, Δmax = 50).
//!
//! Per weight, with `s = gᵢ₋₁·gᵢ`: `s > 0` grows the step size (×η⁺, at most Δmax) and
//! steps `−sign(g)·Δ`; `s < 0` shrinks it (×η⁻, at least Δmin), undoes the last step of
//! that weight only if the error rose (`E > E₋`), and forgets the gradient (so the next
//! iteration takes the `s = 0` branch); `s = 0` steps `−sign(g)·Δ`. It needs the error at
//! every iteration, so it runs on the full batch.

use crate::driver::{Iterate, Minimizer, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::{all_finite, sign};
use crate::problem::Objective;
use serde::{Deserialize, Serialize};

/// iRprop⁺ (see the module documentation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IRpropPlus {
    /// Initial step size Δ₀.
    pub delta0: f64,
    /// Growth factor η⁺.
    pub eta_plus: f64,
    /// Shrink factor η⁻.
    pub eta_minus: f64,
    /// Smallest step size.
    pub step_min: f64,
    /// Largest step size.
    pub step_max: f64,
    step: Vec<f64>,
    g_prev: Vec<f64>,
    dw_prev: Vec<f64>,
    f_prev: f64,
    trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl IRpropPlus {
    /// With the given initial step and Igel & Hüsken's other settings.
    pub fn new(delta0: f64) -> Self {
        IRpropPlus {
            delta0,
            eta_plus: 1.2,
            eta_minus: 0.5,
            step_min: 0.0,
            step_max: 50.0,
            step: Vec::new(),
            g_prev: Vec::new(),
            dw_prev: Vec::new(),
            f_prev: f64::INFINITY,
            trial: Vec::new(),
            g_trial: Vec::new(),
        }
    }
}

impl Minimizer for IRpropPlus {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.vector("step sizes", &self.step)?;
        dims.vector("previous gradient", &self.g_prev)?;
        dims.vector("previous step", &self.dw_prev)?;
        dims.vector("trial point", &self.trial)?;
        dims.vector("trial gradient", &self.g_trial)
    }
    fn name(&self) -> String {
        "iRprop+".into()
    }
    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        let n = x0.len();
        self.step = vec![self.delta0; n];
        self.g_prev = vec![0.0; n];
        self.dw_prev = vec![0.0; n];
        self.f_prev = f64::INFINITY;
        self.trial = vec![0.0; n];
        self.g_trial = vec![0.0; n];
        Ok(Iterate::evaluate(problem, x0))
    }
    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        let error_rose = it.f > self.f_prev;
        let mut sq = 0.0;
        for i in 0..it.x.len() {
            let g = it.g[i];
            let s = self.g_prev[i] * g;
            let dw = if s > 0.0 {
                self.step[i] = (self.step[i] * self.eta_plus).min(self.step_max);
                self.g_prev[i] = g;
                -sign(g) * self.step[i]
            } else if s < 0.0 {
                self.step[i] = (self.step[i] * self.eta_minus).max(self.step_min);
                self.g_prev[i] = 0.0;
                if error_rose {
                    -self.dw_prev[i]
                } else {
                    0.0
                }
            } else {
                self.g_prev[i] = g;
                -sign(g) * self.step[i]
            };
            self.dw_prev[i] = dw;
            self.trial[i] = it.x[i] + dw;
            sq += dw * dw;
        }
        let f = problem.value_grad(&self.trial, &mut self.g_trial);
        if !f.is_finite() || !all_finite(&self.g_trial) || !all_finite(&self.trial) {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        }
        self.f_prev = it.f;
        std::mem::swap(&mut it.x, &mut self.trial);
        std::mem::swap(&mut it.g, &mut self.g_trial);
        it.f = f;
        Ok(StepOutcome::Accepted {
            step_norm: sq.sqrt(),
            alpha: self.step.iter().fold(0.0, |m: f64, s| m.max(*s)),
        })
    }
    fn monotone(&self) -> bool {
        false
    }
}
