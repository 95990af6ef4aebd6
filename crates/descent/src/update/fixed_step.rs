//! Runs a [`StepRule`] on a deterministic objective: `x₊ = x + Δ(∇f(x))`, one gradient per
//! iteration, no line search. A candidate whose value or gradient is not finite is not
//! committed: the run stops with `NonFinite` at the last finite point (a divergent learning
//! rate gives a typed stop, not NaN).
//!
//! On a box ([`FixedStep::within`]) each step is projected onto it — `x₊ = P(x + Δ)`, the
//! projected-gradient form of every step rule — and the run stops on the projected
//! gradient.

use super::StepRule;
use crate::bounds::Bounds;
use crate::driver::{
    state_from_json, state_to_json, Dims, Iterate, Minimizer, StepOutcome, Termination,
};
use crate::error::Result;
use crate::linalg::{all_finite, norm};
use crate::problem::Objective;

/// A step rule as a [`Minimizer`].
pub struct FixedStep<R> {
    /// The rule.
    pub rule: R,
    t: u64,
    delta: Vec<f64>,
    trial: Vec<f64>,
    g_trial: Vec<f64>,
    bounds: Option<Bounds>,
}

impl<R: StepRule> FixedStep<R> {
    /// Wraps `rule`.
    pub fn new(rule: R) -> Self {
        FixedStep {
            rule,
            t: 0,
            delta: Vec::new(),
            trial: Vec::new(),
            g_trial: Vec::new(),
            bounds: None,
        }
    }

    /// Keeps every iterate in `bounds` (the start is moved inside, each step projected).
    pub fn within(mut self, bounds: Bounds) -> Self {
        self.bounds = Some(bounds);
        self
    }

    fn check_dim(&self, n: usize) -> Result<()> {
        Bounds::for_dim(self.bounds.as_ref(), n).map(|_| ())
    }
}

impl<R: StepRule> Minimizer for FixedStep<R> {
    fn name(&self) -> String {
        self.rule.name()
    }
    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        let n = x0.len();
        self.rule.reset(n);
        self.t = 0;
        self.delta = vec![0.0; n];
        self.trial = vec![0.0; n];
        self.g_trial = vec![0.0; n];
        self.check_dim(n)?;
        let mut x = x0.to_vec();
        if let Some(b) = &self.bounds {
            b.project(&mut x);
        }
        Ok(Iterate::evaluate(problem, &x))
    }
    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        self.t += 1;
        self.rule.update(self.t, &it.x, &it.g, &mut self.delta);
        for i in 0..it.x.len() {
            self.trial[i] = it.x[i] + self.delta[i];
        }
        if let Some(b) = &self.bounds {
            b.project(&mut self.trial);
            for i in 0..it.x.len() {
                self.delta[i] = self.trial[i] - it.x[i];
            }
        }
        let f = problem.value_grad(&self.trial, &mut self.g_trial);
        if !f.is_finite() || !all_finite(&self.g_trial) || !all_finite(&self.trial) {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        }
        std::mem::swap(&mut it.x, &mut self.trial);
        std::mem::swap(&mut it.g, &mut self.g_trial);
        it.f = f;
        Ok(StepOutcome::Accepted {
            step_norm: norm(&self.delta),
            alpha: self.rule.rate(self.t),
        })
    }
    fn monotone(&self) -> bool {
        false
    }
    fn grad_norm(&self, it: &Iterate) -> f64 {
        match &self.bounds {
            Some(b) => b.projected_gradient_norm(&it.x, &it.g),
            None => crate::linalg::norm_inf(&it.g),
        }
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.rule.rate(self.t))]
    }
    fn point_of_record(&self) -> Option<&[f64]> {
        self.rule.averaged_point()
    }
    fn check_restored(&self, dims: Dims) -> Result<()> {
        dims.length("parameters", self.delta.len(), dims.n)
    }
    fn save_state(&self) -> Result<serde_json::Value> {
        let rule: Vec<(String, Vec<f64>)> = self
            .rule
            .state()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        state_to_json(&(self.t, self.delta.len(), rule))
    }
    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let (t, n, rule): (u64, usize, Vec<(String, Vec<f64>)>) = state_from_json(state)?;
        self.check_dim(n)?;
        super::restore_state(&mut self.rule, n, &rule)?;
        self.t = t;
        self.delta = vec![0.0; n];
        self.trial = vec![0.0; n];
        self.g_trial = vec![0.0; n];
        Ok(())
    }
}
