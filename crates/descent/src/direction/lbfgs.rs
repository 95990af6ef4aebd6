//! Limited-memory BFGS: `d = −H g` by the two-loop recursion over the last m pairs
//! (Nocedal & Wright, Algorithm 7.4), with `H₀ = γI`, `γ = sᵀy/yᵀy` of the newest pair
//! (eq. 7.20). Default memory m = 10 (N&W §7.2 suggest 3–20; 10 is SciPy's and Optim.jl's).
//!
//! Vectors of at least [`PARALLEL_LEN`] entries take the recursion from dot products
//! instead ([`super::lbfgs_dots`]): the same direction in exact arithmetic, in two passes
//! over the pairs instead of 2m, split across threads. The pairs are kept in a ring: a new
//! pair takes the place of the oldest one without a copy ([`Direction::update_owned`]).

use super::lbfgs_dots::PairTables;
use super::{Direction, PairProducts};
use crate::driver::{Iterate, Termination};
use crate::linalg::{axpy, dot, PARALLEL_LEN};
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
    /// Products among the pairs, for long vectors (rebuilt from the pairs on resume).
    #[serde(skip)]
    products: PairTables,
    /// `dᵀg` of the last direction, when summed while writing it (long vectors).
    #[serde(skip)]
    slope: Option<f64>,
}

impl Lbfgs {
    /// With memory `m` (at least 1).
    pub fn new(memory: usize) -> Self {
        Lbfgs {
            memory: memory.max(1),
            pairs: VecDeque::new(),
            alpha: Vec::new(),
            gamma: 1.0,
            products: PairTables::default(),
            slope: None,
        }
    }

    /// Whether a pair with these products is kept: only pairs with positive curvature
    /// (always true under the Wolfe conditions).
    fn keeps(p: PairProducts) -> bool {
        !(p.sy.is_nan() || p.sy <= 1e-10 * p.ss.sqrt() * p.yy.sqrt())
    }

    /// Drops the oldest pair, returning its vectors for reuse.
    fn drop_oldest(&mut self) -> (Vec<f64>, Vec<f64>) {
        let (s, y, _) = self.pairs.pop_front().expect("a stored pair");
        self.products.drop_oldest();
        (s, y)
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
        self.products.clear();
        self.slope = None;
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
        let k = self.pairs.len();
        if it.g.len() >= PARALLEL_LEN && k > 0 {
            let pairs: Vec<(&[f64], &[f64], f64)> = self
                .pairs
                .iter()
                .map(|(s, y, rho)| (&s[..], &y[..], *rho))
                .collect();
            self.slope = Some(self.products.direction(&pairs, self.gamma, &it.g, d));
            return Ok(());
        }
        self.slope = None;
        d.copy_from_slice(&it.g);
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
        let (sy, yy) = (dot(s, y), dot(y, y));
        if !Self::keeps(PairProducts {
            sy,
            yy,
            ss: dot(s, s),
        }) {
            return;
        }
        let pair = if self.pairs.len() == self.memory {
            let (mut ps, mut py) = self.drop_oldest();
            ps.copy_from_slice(s);
            py.copy_from_slice(y);
            (ps, py, 1.0 / sy)
        } else {
            (s.to_vec(), y.to_vec(), 1.0 / sy)
        };
        self.pairs.push_back(pair);
        self.gamma = sy / yy;
    }
    fn update_owned(
        &mut self,
        s: &mut Vec<f64>,
        y: &mut Vec<f64>,
        products: Option<PairProducts>,
        _it: &Iterate,
    ) {
        let p = products.unwrap_or_else(|| PairProducts {
            sy: dot(s, y),
            yy: dot(y, y),
            ss: dot(s, s),
        });
        if !Self::keeps(p) {
            return;
        }
        let (sy, yy) = (p.sy, p.yy);
        // The step's vectors go into the ring; the oldest pair's (or none) come back.
        let (old_s, old_y) = if self.pairs.len() == self.memory {
            self.drop_oldest()
        } else {
            (Vec::new(), Vec::new())
        };
        let pair = (
            std::mem::replace(s, old_s),
            std::mem::replace(y, old_y),
            1.0 / sy,
        );
        self.pairs.push_back(pair);
        self.gamma = sy / yy;
    }
    fn reset(&mut self) {
        self.pairs.clear();
        self.products.clear();
        self.slope = None;
        self.gamma = 1.0;
    }
    fn slope(&self) -> Option<f64> {
        self.slope
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::FnObjective;

    /// The textbook two-loop recursion (N&W Algorithm 7.4), written out.
    fn two_loop(pairs: &VecDeque<(Vec<f64>, Vec<f64>, f64)>, gamma: f64, g: &[f64]) -> Vec<f64> {
        let plain_dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let mut q = g.to_vec();
        let mut alpha = vec![0.0; pairs.len()];
        for (i, (s, y, rho)) in pairs.iter().enumerate().rev() {
            alpha[i] = rho * plain_dot(s, &q);
            q.iter_mut()
                .zip(y)
                .for_each(|(qi, yi)| *qi -= alpha[i] * yi);
        }
        q.iter_mut().for_each(|v| *v *= gamma);
        for (i, (s, y, rho)) in pairs.iter().enumerate() {
            let beta = rho * plain_dot(y, &q);
            q.iter_mut()
                .zip(s)
                .for_each(|(qi, si)| *qi += (alpha[i] - beta) * si);
        }
        q.iter().map(|v| -v).collect()
    }

    fn wave(n: usize, k: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * (k + 3)) as f64 * 0.37 + k as f64).sin())
            .collect()
    }

    #[test]
    fn long_vectors_take_the_same_direction_from_dot_products() {
        let n = PARALLEL_LEN + 3;
        let unused = FnObjective::new(n, |_: &[f64], _: Option<&mut [f64]>| 0.0);
        let g = wave(n, 99);
        let it = Iterate {
            x: vec![0.0; n],
            f: 0.0,
            g: g.clone(),
        };
        let mut lbfgs = Lbfgs::new(4);
        lbfgs.init(n);
        let mut d = vec![0.0; n];
        // Seven pairs through a memory of four: the ring drops the oldest three times, and
        // the products are kept up to date one pair at a time.
        for k in 0..7 {
            let mut s = wave(n, k);
            let mut y: Vec<f64> = s
                .iter()
                .zip(wave(n, k + 50))
                .map(|(a, b)| 2.0 * a + 0.3 * b)
                .collect();
            lbfgs.update_owned(&mut s, &mut y, None, &it);
            lbfgs.direction(&unused, &it, &mut d).unwrap();
            let expected = two_loop(&lbfgs.pairs, lbfgs.gamma, &g);
            let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = d
                .iter()
                .zip(&expected)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                err <= 1e-12 * scale,
                "pair {k}: error {err:e} against {scale:e}"
            );
        }
        // From the vectors alone (a resumed run): bitwise the same direction.
        let mut restored: Lbfgs =
            crate::driver::state_from_json(&lbfgs.save_state().unwrap()).unwrap();
        let mut d_restored = vec![0.0; n];
        restored.direction(&unused, &it, &mut d_restored).unwrap();
        assert!(d
            .iter()
            .zip(&d_restored)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
