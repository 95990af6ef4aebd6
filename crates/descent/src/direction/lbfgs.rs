//! Limited-memory BFGS: `d = −H g` by the two-loop recursion over the last m pairs
//! (Nocedal & Wright, Algorithm 7.4), with `H₀ = γI`, `γ = sᵀy/yᵀy` of the newest pair
//! (eq. 7.20). Default memory m = 10 (N&W §7.2 suggest 3–20; 10 is SciPy's and Optim.jl's).

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::{axpy, dot, norm};
use crate::problem::Objective;
use std::collections::VecDeque;

/// L-BFGS direction.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Lbfgs {
    /// Number of stored pairs.
    pub memory: usize,
    pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    alpha: Vec<f64>,
    gamma: f64,
}

impl Lbfgs {
    /// With memory `m` (at least 1).
    pub fn new(memory: usize) -> Self {
        Lbfgs {
            memory: memory.max(1),
            pairs: VecDeque::new(),
            alpha: Vec::new(),
            gamma: 1.0,
        }
    }
}

impl Default for Lbfgs {
    fn default() -> Self {
        Lbfgs::new(10)
    }
}

impl Direction for Lbfgs {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        if self.memory == 0 || self.pairs.len() > self.memory {
            return Err(crate::Error::config(
                "resume",
                format!(
                    "the checkpoint holds {} L-BFGS pairs for a memory of {}",
                    self.pairs.len(),
                    self.memory
                ),
            ));
        }
        for (s, y, _) in &self.pairs {
            dims.vector("step", s)?;
            dims.vector("gradient change", y)?;
        }
        Ok(())
    }
    fn name(&self) -> String {
        format!("L-BFGS (m={})", self.memory)
    }
    fn init(&mut self, _n: usize) {
        self.pairs.clear();
        // Scratch for the pairs there are (it grows with them, up to the memory: a huge
        // memory setting allocates nothing it does not use).
        self.alpha.clear();
        self.gamma = 1.0;
    }
    fn direction(
        &mut self,
        _p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        d.copy_from_slice(&it.g);
        let k = self.pairs.len();
        if self.alpha.len() < k {
            self.alpha.resize(k, 0.0);
        }
        for i in (0..k).rev() {
            let (s, y, rho) = &self.pairs[i];
            let a = rho * dot(s, d);
            self.alpha[i] = a;
            axpy(-a, y, d);
        }
        d.iter_mut().for_each(|v| *v *= self.gamma);
        for i in 0..k {
            let (s, y, rho) = &self.pairs[i];
            let b = rho * dot(y, d);
            axpy(self.alpha[i] - b, s, d);
        }
        d.iter_mut().for_each(|v| *v = -*v);
        Ok(())
    }
    fn update(&mut self, s: &[f64], y: &[f64], _it: &Iterate) {
        let sy = dot(s, y);
        let yy = dot(y, y);
        // Keep only pairs with positive curvature (always true under the Wolfe conditions).
        if sy.is_nan() || sy <= 1e-10 * norm(s) * yy.sqrt() {
            return;
        }
        let pair = if self.pairs.len() == self.memory {
            let (mut ps, mut py, _) = self.pairs.pop_front().expect("full buffer");
            ps.copy_from_slice(s);
            py.copy_from_slice(y);
            (ps, py, 1.0 / sy)
        } else {
            (s.to_vec(), y.to_vec(), 1.0 / sy)
        };
        self.pairs.push_back(pair);
        self.gamma = sy / yy;
    }
    fn reset(&mut self) {
        self.pairs.clear();
        self.gamma = 1.0;
    }
    fn unit_step(&self) -> bool {
        !self.pairs.is_empty()
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("gamma", self.gamma)]
    }
    fn inverse_hessian(&self) -> Option<crate::driver::InverseHessian> {
        let pairs = self.pairs.iter().map(|(s, y, _)| (s.clone(), y.clone()));
        Some(crate::driver::InverseHessian::Pairs(pairs.collect()))
    }
}
