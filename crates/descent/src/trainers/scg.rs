//! Scaled conjugate gradient (Møller, "A scaled conjugate gradient algorithm for fast
//! supervised learning", Neural Networks 6, 1993; MATLAB's `trainscg`), with the paper's
//! and MATLAB's defaults σ = 5e-5, λ₁ = 5e-7.
//!
//! No line search: the curvature along `p` comes from one difference of gradients,
//! `s = (∇E(w + σₖp) − ∇E(w))/σₖ`, `σₖ = σ/‖p‖`, `δ = pᵀs`; a Levenberg–Marquardt-like
//! scale λ keeps `δ + λ‖p‖²` positive (raising λ when δ ≤ 0). The step is `α = μ/δ`,
//! `μ = pᵀr` (`r = −∇E`); the comparison parameter `Δ = 2δ(E(w) − E(w + αp))/μ²` decides:
//! `Δ ≥ 0` accepts (λ/4 when `Δ ≥ 0.75`), `Δ < 0.25` raises λ by `δ(1 − Δ)/‖p‖²`. New
//! directions are `p = r₊ + βp`, `β = (‖r₊‖² − r₊ᵀr)/μ`, restarted at `r₊` every n
//! iterations. At most two gradients per iteration: the difference, and the trial point.

use crate::driver::{Iterate, Minimizer, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::dot;
use crate::problem::Objective;
use serde::{Deserialize, Serialize};

/// Scaled conjugate gradient (see the module documentation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScaledCg {
    /// σ of the gradient difference.
    pub sigma: f64,
    /// Initial scale λ₁.
    pub lambda0: f64,
    lambda: f64,
    lambda_bar: f64,
    /// Whether the last trial was accepted (the curvature must then be measured anew).
    success: bool,
    p: Vec<f64>,
    delta: f64,
    k: u64,
    trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl ScaledCg {
    /// With Møller's σ and λ₁.
    pub fn new(sigma: f64, lambda0: f64) -> Self {
        ScaledCg {
            sigma,
            lambda0,
            lambda: lambda0,
            lambda_bar: 0.0,
            success: true,
            p: Vec::new(),
            delta: 0.0,
            k: 0,
            trial: Vec::new(),
            g_trial: Vec::new(),
        }
    }
}

impl Default for ScaledCg {
    fn default() -> Self {
        ScaledCg::new(5e-5, 5e-7)
    }
}

impl Minimizer for ScaledCg {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.vector("conjugate direction", &self.p)?;
        dims.vector("trial point", &self.trial)?;
        dims.vector("trial gradient", &self.g_trial)
    }
    fn name(&self) -> String {
        "scaled conjugate gradient".into()
    }
    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        let it = Iterate::evaluate(problem, x0);
        *self = ScaledCg::new(self.sigma, self.lambda0);
        self.p = it.g.iter().map(|g| -g).collect();
        self.trial = vec![0.0; x0.len()];
        self.g_trial = vec![0.0; x0.len()];
        Ok(it)
    }
    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        self.k += 1;
        let n = it.x.len();
        let pp = dot(&self.p, &self.p);
        if self.success {
            // Curvature along p from one difference of gradients.
            let sigma_k = self.sigma / pp.sqrt();
            for i in 0..n {
                self.trial[i] = it.x[i] + sigma_k * self.p[i];
            }
            problem.value_grad(&self.trial, &mut self.g_trial);
            self.delta = (0..n)
                .map(|i| self.p[i] * (self.g_trial[i] - it.g[i]))
                .sum::<f64>()
                / sigma_k;
            if !self.delta.is_finite() {
                return Ok(StepOutcome::Stop(Termination::Breakdown));
            }
        }
        // Scale, and make the curvature positive.
        self.delta += (self.lambda - self.lambda_bar) * pp;
        if self.delta <= 0.0 {
            self.lambda_bar = 2.0 * (self.lambda - self.delta / pp);
            self.delta = -self.delta + self.lambda * pp;
            self.lambda = self.lambda_bar;
        }
        let mu = -dot(&self.p, &it.g);
        if mu.is_nan() || mu <= 0.0 {
            // Not a descent direction (rounding): restart along −∇E.
            self.p = it.g.iter().map(|g| -g).collect();
            self.success = true;
            return Ok(StepOutcome::Rejected);
        }
        let alpha = mu / self.delta;
        for i in 0..n {
            self.trial[i] = it.x[i] + alpha * self.p[i];
        }
        let f_new = problem.value_grad(&self.trial, &mut self.g_trial);
        let finite = f_new.is_finite() && crate::linalg::all_finite(&self.g_trial);
        let cmp = if finite {
            2.0 * self.delta * (it.f - f_new) / (mu * mu)
        } else {
            f64::NEG_INFINITY
        };
        let outcome = if cmp >= 0.0 {
            // r₊ = −g₊; β from r₊ and r = −g.
            let beta = (dot(&self.g_trial, &self.g_trial) - dot(&self.g_trial, &it.g)) / mu;
            let restart = self.k.is_multiple_of(n.max(1) as u64);
            for i in 0..n {
                self.p[i] = -self.g_trial[i] + if restart { 0.0 } else { beta * self.p[i] };
            }
            std::mem::swap(&mut it.x, &mut self.trial);
            std::mem::swap(&mut it.g, &mut self.g_trial);
            it.f = f_new;
            self.lambda_bar = 0.0;
            self.success = true;
            if cmp >= 0.75 {
                self.lambda /= 4.0;
            }
            StepOutcome::Accepted {
                step_norm: alpha * pp.sqrt(),
                alpha,
            }
        } else {
            self.lambda_bar = self.lambda;
            self.success = false;
            StepOutcome::Rejected
        };
        if cmp < 0.25 {
            let raise = if cmp.is_finite() { 1.0 - cmp } else { 1.0 };
            self.lambda += self.delta * raise / pp;
            if !self.lambda.is_finite() {
                return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
            }
        }
        Ok(outcome)
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("lambda", self.lambda)]
    }
}
