//! Bayesian regularization (MacKay, "Bayesian interpolation", Neural Computation 4, 1992;
//! Foresee & Hagan, "Gauss–Newton approximation to Bayesian learning", ICNN 1997;
//! MATLAB's `trainbr`): Levenberg–Marquardt on `F = β·E_D + α·E_W`, `E_D = Σ rᵢ²` (the
//! data misfit), `E_W = Σ wⱼ²` (the weights), with α and β re-estimated after every
//! step from the effective number of parameters
//!
//! `γ = N − α·tr((βJᵀJ + αI)⁻¹)`, `α = γ/(2E_W)`, `β = (n − γ)/(2E_D)`
//!
//! (N parameters, n residuals — the observations a problem stands for, all the workers'
//! rows of a distributed one; the trace from the eigenvalues of JᵀJ; β = 1 while γ ≥ n). It starts from α = 0, β = 1 (plain LM). Each step solves `(βJᵀJ + (α + μ)I) δ = −(βJᵀr + αw)` and
//! raises μ by `mu_inc` until F decreases, then lowers it by `mu_dec`; MATLAB's defaults:
//! μ = 0.005, `mu_dec` 0.1, `mu_inc` 10, `mu_max` 1e10 (above it the run stops).
//!
//! The iterate's `f` is the data misfit `E_D` (what training reports), its gradient that
//! of F. α and β change between steps, so no point is "best" by `f`: the run ends at its
//! last point; γ, α, β are reported as extras.

use super::step::{gram, scaled_step};
use crate::driver::{Iterate, Minimizer, OnLeastSquares, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::{dot, symmetric_eigenvalues, DenseMatrix};
use crate::problem::LeastSquares;
use serde::{Deserialize, Serialize};

/// Bayesian regularization (see the module documentation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BayesianRegularization {
    /// Initial μ.
    pub mu0: f64,
    /// μ factor after a successful step.
    pub mu_dec: f64,
    /// μ factor after a failed trial.
    pub mu_inc: f64,
    /// μ above which the run stops.
    pub mu_max: f64,
    mu: f64,
    alpha: f64,
    beta: f64,
    gamma: f64,
    /// The observations n (0 in a checkpoint saved before they were kept: the residuals').
    #[serde(default)]
    observations: usize,
    /// Residuals and Jacobian at the iterate.
    r: Vec<f64>,
    j: DenseMatrix,
}

impl Default for BayesianRegularization {
    fn default() -> Self {
        BayesianRegularization {
            mu0: 0.005,
            mu_dec: 0.1,
            mu_inc: 10.0,
            mu_max: 1e10,
            mu: 0.005,
            alpha: 0.0,
            beta: 1.0,
            gamma: f64::NAN,
            observations: 0,
            r: Vec::new(),
            j: DenseMatrix::default(),
        }
    }
}

impl BayesianRegularization {
    /// The effective number of parameters for the current α, β.
    pub fn effective_parameters(&self) -> f64 {
        self.gamma
    }

    /// The gradient of F, `2βJᵀr + 2αw`, at `x` from the stored residuals and Jacobian.
    fn gradient(&self, x: &[f64], g: &mut [f64]) {
        self.j.tr_mul_vec(&self.r, g);
        for (gi, xi) in g.iter_mut().zip(x) {
            *gi = 2.0 * (self.beta * *gi + self.alpha * xi);
        }
    }

    /// Re-estimates γ, α, β at the iterate (MacKay's update, Foresee & Hagan's γ).
    fn reestimate(&mut self, x: &[f64]) {
        let n_res = if self.observations > 0 {
            self.observations
        } else {
            self.r.len()
        };
        let (n_params, n_res) = (x.len() as f64, n_res as f64);
        let (ed, ew) = (dot(&self.r, &self.r), dot(x, x));
        let Some(eig) = symmetric_eigenvalues(&gram(&self.j)) else {
            return;
        };
        let trace: f64 = eig
            .iter()
            .map(|l| 1.0 / (self.beta * l.max(0.0) + self.alpha))
            .sum();
        let gamma = if self.alpha > 0.0 {
            n_params - self.alpha * trace
        } else {
            n_params
        };
        let gamma = gamma.clamp(0.0, n_params);
        if ew > 0.0 && ed > 0.0 {
            self.gamma = gamma;
            self.alpha = gamma / (2.0 * ew);
            // With more parameters than residuals the first estimate (γ = N) would make
            // β negative; MATLAB's trainbr then keeps β = 1.
            self.beta = if n_res > gamma {
                (n_res - gamma) / (2.0 * ed)
            } else {
                1.0
            };
        }
    }
}

impl Minimizer<OnLeastSquares> for BayesianRegularization {
    crate::driver::whole_state!();
    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        // The Jacobian, the augmented system and the normal matrix.
        let (m, n) = (dims.m as u128, dims.n as u128);
        m * n + (m + n) * n + n * n
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.length("residuals", self.r.len(), dims.m)?;
        dims.matrix("Jacobian", &self.j, dims.m, dims.n)
    }
    fn name(&self) -> String {
        "Bayesian regularization (trainbr)".into()
    }
    fn init(&mut self, problem: &dyn LeastSquares, x0: &[f64]) -> Result<Iterate> {
        let (m, n) = (problem.residual_count(), x0.len());
        self.mu = self.mu0;
        self.alpha = 0.0;
        self.beta = 1.0;
        self.gamma = n as f64;
        self.observations = problem.observation_count();
        self.r = vec![0.0; m];
        self.j = DenseMatrix::zeros(m, n);
        problem.residuals(x0, &mut self.r);
        problem.jacobian(x0, &mut self.j);
        let mut g = vec![0.0; n];
        self.gradient(x0, &mut g);
        Ok(Iterate {
            x: x0.to_vec(),
            f: dot(&self.r, &self.r),
            g,
        })
    }
    fn step(&mut self, problem: &dyn LeastSquares, it: &mut Iterate) -> Result<StepOutcome> {
        let (m, n) = (self.r.len(), it.x.len());
        let (sb, sa) = (self.beta.sqrt(), self.alpha.sqrt());
        // [√β J; √α I] and [√β r; √α w]: the normal equations of F with damping μ.
        let mut aug = DenseMatrix::zeros(m + n, n);
        for i in 0..m {
            for k in 0..n {
                aug.data[i * n + k] = sb * self.j.data[i * n + k];
            }
        }
        for k in 0..n {
            aug.data[(m + k) * n + k] = sa;
        }
        let mut r_aug: Vec<f64> = self.r.iter().map(|v| sb * v).collect();
        r_aug.extend(it.x.iter().map(|w| sa * w));
        let f_now = dot(&r_aug, &r_aug);
        let mut trial = vec![0.0; n];
        let mut r_trial = vec![0.0; m];
        loop {
            if self.mu > self.mu_max {
                return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
            }
            let Some(h) = scaled_step(&aug, &r_aug, self.mu) else {
                self.mu *= self.mu_inc;
                continue;
            };
            for k in 0..n {
                trial[k] = it.x[k] + h[k];
            }
            problem.residuals(&trial, &mut r_trial);
            let f_trial = self.beta * dot(&r_trial, &r_trial) + self.alpha * dot(&trial, &trial);
            if f_trial.is_finite() && f_trial < f_now {
                self.mu *= self.mu_dec;
                let step_norm = dot(&h, &h).sqrt();
                problem.jacobian(&trial, &mut self.j);
                self.r.copy_from_slice(&r_trial);
                it.x.copy_from_slice(&trial);
                self.reestimate(&it.x);
                self.gradient(&it.x, &mut it.g);
                it.f = dot(&self.r, &self.r);
                return Ok(StepOutcome::Accepted {
                    step_norm,
                    alpha: 1.0,
                });
            }
            self.mu *= self.mu_inc;
        }
    }
    fn monotone(&self) -> bool {
        false
    }
    fn keeps_best(&self) -> bool {
        false
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("gamma", self.gamma),
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("mu", self.mu),
        ]
    }
}
