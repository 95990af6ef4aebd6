//! Gradient descent with an adaptive rate, the "bold driver" (Vogl et al., "Accelerating
//! the convergence of the back-propagation method", Biol. Cybern. 59, 1988), as MATLAB's
//! `traingda` and, with momentum, `traingdx`, with their documented defaults: lr 0.01,
//! ×1.05 after a step that lowered the loss, ×0.7 and the step undone when the loss grew
//! by more than 4 % (`max_perf_inc` 1.04); `traingdx` adds momentum mc = 0.9 in MATLAB's
//! form `Δ = mc·Δ₋ − lr·mc·∇E`.
//!
//! An undone step also drops the momentum (the previous change is not carried into the
//! next trial). Each trial is one evaluation and one iteration, as each is an epoch in
//! MATLAB.

use crate::driver::{Iterate, Minimizer, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::all_finite;
use crate::problem::Objective;
use serde::{Deserialize, Serialize};

/// Bold-driver gradient descent (see the module documentation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdaptiveRate {
    /// Initial learning rate.
    pub lr0: f64,
    /// Rate factor after a decrease.
    pub lr_inc: f64,
    /// Rate factor after a rejected step.
    pub lr_dec: f64,
    /// Largest accepted ratio of new to old loss.
    pub max_perf_inc: f64,
    /// Momentum (0 for `gda`).
    pub momentum: f64,
    lr: f64,
    dx: Vec<f64>,
    trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl AdaptiveRate {
    /// `traingda`'s defaults (no momentum).
    pub fn gda() -> Self {
        AdaptiveRate {
            lr0: 0.01,
            lr_inc: 1.05,
            lr_dec: 0.7,
            max_perf_inc: 1.04,
            momentum: 0.0,
            lr: 0.01,
            dx: Vec::new(),
            trial: Vec::new(),
            g_trial: Vec::new(),
        }
    }
    /// `traingdx`'s defaults (momentum 0.9).
    pub fn gdx() -> Self {
        AdaptiveRate {
            momentum: 0.9,
            ..AdaptiveRate::gda()
        }
    }
}

impl Minimizer for AdaptiveRate {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.vector("previous step", &self.dx)?;
        dims.vector("trial point", &self.trial)?;
        dims.vector("trial gradient", &self.g_trial)
    }
    fn name(&self) -> String {
        if self.momentum > 0.0 {
            "gradient descent, adaptive rate and momentum (traingdx)".into()
        } else {
            "gradient descent, adaptive rate (traingda)".into()
        }
    }
    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        let n = x0.len();
        self.lr = self.lr0;
        self.dx = vec![0.0; n];
        self.trial = vec![0.0; n];
        self.g_trial = vec![0.0; n];
        Ok(Iterate::evaluate(problem, x0))
    }
    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        let (mc, lr) = (self.momentum, self.lr);
        // gda: Δ = −lr·g; gdx: Δ = mc·Δ₋ − lr·mc·g (MATLAB's documented form).
        let gain = if mc > 0.0 { lr * mc } else { lr };
        let mut sq = 0.0;
        for i in 0..it.x.len() {
            let d = mc * self.dx[i] - gain * it.g[i];
            self.trial[i] = it.x[i] + d;
            sq += d * d;
        }
        let f = problem.value_grad(&self.trial, &mut self.g_trial);
        let finite = f.is_finite() && all_finite(&self.g_trial) && all_finite(&self.trial);
        if !finite || f - it.f > (self.max_perf_inc - 1.0) * it.f.abs() {
            self.lr *= self.lr_dec;
            self.dx.iter_mut().for_each(|d| *d = 0.0);
            if self.lr.is_nan() || self.lr <= 0.0 {
                return Ok(StepOutcome::Stop(Termination::LineSearchFailed));
            }
            return Ok(StepOutcome::Rejected);
        }
        if f < it.f {
            self.lr *= self.lr_inc;
        }
        for i in 0..it.x.len() {
            self.dx[i] = self.trial[i] - it.x[i];
        }
        std::mem::swap(&mut it.x, &mut self.trial);
        std::mem::swap(&mut it.g, &mut self.g_trial);
        it.f = f;
        Ok(StepOutcome::Accepted {
            step_norm: sq.sqrt(),
            alpha: lr,
        })
    }
    fn monotone(&self) -> bool {
        false
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.lr)]
    }
}
